"""User-facing errors: one clear line, no traceback."""

from converters.errors import FormatError


class UserError(Exception):
    """A mistake in the user's input (file, flag, data): the CLI prints ``error: <message>`` and exits 2."""


USER_ERRORS: tuple[type[Exception], ...] = (UserError, FormatError)
"""What the CLI reports as ``error: <message>`` with exit status 2: :class:`UserError` and the
converters' :class:`~converters.errors.FormatError` (a malformed or unsupported model file)."""
