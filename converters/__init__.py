"""Converters between model formats: the firmware model pack (``.bnnpack``, see ``FORMAT.md``).

:mod:`converters.bnnpack` is the one Python definition of the pack format (read, write, validate,
describe). It depends only on numpy, so the simulator and the tests can use it without TensorFlow.
"""
