"""Converters between model formats: the firmware model pack (``.bnnpack``, see ``FORMAT.md``).

The bottom layer of the project: it imports nothing from the application above it.

* :mod:`converters.bnnpack` — the one Python definition of the pack format (read, write,
  validate, describe); it depends only on numpy, so the simulator and the tests can use it
  without TensorFlow;
* :mod:`converters.ops` — the op codes, dtypes and one table of per-op rules;
* :mod:`converters.bitpack` — how ±1 channels become u32 words;
* :mod:`converters.tflite_reader` and :mod:`converters.lower` — an LCE TFLite flatbuffer to a pack;
* :mod:`converters.errors` — :class:`~converters.errors.FormatError`, the base of every error
  raised on a bad model file (one line, meant to be shown to the user as it is).
"""
