"""``python -m bnn_edge.cli`` = ``bnn-edge``."""

from bnn_edge.cli import main

main(prog_name="bnn-edge")
