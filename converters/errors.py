"""The converters' errors: a malformed or unsupported model file, one line naming what is wrong.

:class:`FormatError` is the base of every error this package raises on bad input (a
``.bnnpack`` that does not validate, a TFLite file that cannot be read or lowered). It is a
:class:`ValueError`: the input *value* is wrong. Applications show its message as it is (the
``bnn-edge`` command line prints ``error: <message>`` and exits 2, as for its own user errors).
"""

from __future__ import annotations

__all__ = ["FormatError", "PackError"]


class FormatError(ValueError):
    """A model file (pack, flatbuffer) or a value written into one is malformed or unsupported."""


class PackError(FormatError):
    """A ``.bnnpack`` is malformed or inconsistent; the message is one line naming what is wrong."""
