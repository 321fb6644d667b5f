"""Class-incremental learning: scenarios, bit-exact replay buffers, latent vs native replay, metrics.

Modules, one concept each: :mod:`~bnn_edge.cil.scenario` (phases over the seeded class order),
:mod:`~bnn_edge.cil.codec` (what a stored sample costs in bits), :mod:`~bnn_edge.cil.buffer`
(megabit budget, class-balanced replacement), :mod:`~bnn_edge.cil.classifier` (the reset,
masked N_max head), :mod:`~bnn_edge.cil.learners` (frozen extractor + head, or the whole net),
:mod:`~bnn_edge.cil.strategies` (latent / native / none / joint training sets),
:mod:`~bnn_edge.cil.metrics` (Avalanche's metrics), :mod:`~bnn_edge.cil.plots`,
:mod:`~bnn_edge.cil.engine` (``bnn-edge cil``) and :mod:`~bnn_edge.cil.sweep` (``bnn-edge sweep``).

Importing this package does not import TensorFlow; the modules that train do.
"""
