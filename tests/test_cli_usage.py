"""Click's own usage errors come out as one `error:` line (exit 2), like every other user mistake."""

import pytest

from conftest import run_cli


@pytest.mark.parametrize("args,word", [
    (["run", "x", "--target", "m99"], "--target"),
    (["summary", "--classes", "ten"], "--classes"),
    (["cil"], "--out"),
    (["nosuch"], "No such command"),
])
def test_usage_errors_are_one_line(args, word):
    proc = run_cli(*args)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ") and word in lines[0]


def test_bare_command_prints_help():
    proc = run_cli()
    assert proc.returncode == 0 and "Usage: bnn-edge" in proc.stdout and "train" in proc.stdout
