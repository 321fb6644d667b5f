"""Dataset sources beyond the bundled ones: image folders (:mod:`bnn_edge.datasets.folder`)."""
