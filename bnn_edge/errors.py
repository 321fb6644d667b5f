"""User-facing errors: one clear line, no traceback."""


class UserError(Exception):
    """A mistake in the user's input (file, flag, data): the CLI prints ``error: <message>`` and exits 2."""
