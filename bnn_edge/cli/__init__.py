"""The ``bnn-edge`` command line: one module per sub-command, registered here.

Every sub-command turns :class:`bnn_edge.errors.UserError` into one ``error:`` line and exit
status 2, so a user mistake never prints a traceback.
"""

from __future__ import annotations

import functools
import os
import sys
from typing import Any, Callable

import click

from bnn_edge import __version__
from bnn_edge.errors import USER_ERRORS


def user_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator for command callbacks: :data:`~bnn_edge.errors.USER_ERRORS` become ``error: ...``, exit 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except USER_ERRORS as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        except BrokenPipeError:  # stdout's reader went away: the group ends quietly (_quiet_broken_pipe)
            raise
        except OSError as exc:  # the machine's, not the code's: a full disk, a busy mount, a denied rename
            where = f"{exc.filename}: " if exc.filename else ""
            click.echo(f"error: {where}{exc.strerror or exc}", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo("error: interrupted", err=True)
            sys.exit(130)

    return wrapper


def _quiet_broken_pipe() -> None:
    """The reader of stdout went away (``bnn-edge ... | head``): stop quietly with status 0.

    Whatever Python still holds for stdout could not be written either, and flushing it at exit
    would print a traceback: point stdout at /dev/null first.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass
    sys.exit(0)


def _exit_cleanly_on_sigterm() -> Callable[[], None]:
    """``kill PID`` (SIGTERM: a scheduler's time limit, a container stop) ends a command like an
    error does: ``error: terminated``, exit status 143 (128 + 15), and every ``with`` block unwinds,
    so an output being written is removed (:mod:`bnn_edge.atomic`) instead of left as a temporary
    directory. Installed only where SIGTERM still has its default action, from the main thread;
    returns what puts the default back (a command run in-process, e.g. by a test, leaves no trace)."""
    import signal
    import threading

    def terminated(signum: int, frame: Any) -> None:
        click.echo("error: terminated", err=True)
        raise SystemExit(128 + signum)

    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, terminated)
        return lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL)
    return lambda: None


def _one_line_warnings() -> Callable[[], None]:
    """Warnings raised by bnn-edge's own code print as one ``warning: ...`` line on stderr (not
    Python's ``file.py:123: UserWarning: ...`` and the source line); other libraries' warnings are
    shown as before. Returns what puts the previous handler back."""
    import warnings

    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    previous = warnings.showwarning

    def show(message: Any, category: Any, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
        if os.path.abspath(filename).startswith(package + os.sep):
            click.echo(f"warning: {' '.join(str(message).split())}", err=True)
        else:
            previous(message, category, filename, lineno, file, line)

    warnings.showwarning = show
    return lambda: setattr(warnings, "showwarning", previous)


class _OneLineErrors(click.Group):
    """Click's own usage errors (bad choice, bad type, missing option) as one ``error:`` line, exit 2.

    A closed stdout pipe (``bnn-edge --help | head -1``) ends the command quietly with status 0.
    """

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:  # `bnn-edge --help` prints while its context is made
            return super().make_context(*args, **kwargs)
        except BrokenPipeError:
            _quiet_broken_pipe()
            raise

    def invoke(self, ctx: click.Context) -> Any:
        try:  # a sub-command's --help and its output
            return super().invoke(ctx)
        except BrokenPipeError:
            _quiet_broken_pipe()
            raise

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        restore = _exit_cleanly_on_sigterm()
        restore_warnings = _one_line_warnings()
        try:
            rv = super().main(*args, **kwargs)
        except click.exceptions.Abort:
            click.echo("error: aborted", err=True)
            sys.exit(130)
        except click.ClickException as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # plain `bnn-edge`: the help, not an error
                click.echo(exc.format_message())
                sys.exit(0)
            where = f"{exc.ctx.command_path}: " if getattr(exc, "ctx", None) is not None else ""
            message = " ".join(exc.format_message().split())
            click.echo(f"error: {where}{message} (see --help)", err=True)
            sys.exit(exc.exit_code)
        finally:
            restore_warnings()
            restore()
        if isinstance(rv, int) and rv:  # standalone_mode=False returns the exit code of ctx.exit()
            sys.exit(rv)
        return rv


@click.group(cls=_OneLineErrors, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="bnn-edge")
def main() -> None:
    """bnn-edge: fully-binary networks from training to Cortex-M, learning new classes on device.

    \b
    The chain, one command per step:
      train     train a fully-binary network (larq)             -> RUN_DIR
      summary   weight counts of a preset without training
      cil       one class-incremental scenario (latent/native replay)
      sweep     a grid of CIL scenarios, CSV + buffer-size figure
      export    LCE flatbuffer -> firmware model pack            -> EXPORT_DIR
      inspect   read a .bnnpack or .tflite
      run       run an export on the host or an emulated Cortex-M
      simulate  on-device incremental learning, integer sim vs float reference
      flash     build the firmware image for a real board and flash it
      boards    the real boards: memory, console, probe targets
    """


_COMMANDS = [
    ("bnn_edge.cli.train_cmd", ["train", "summary"]),
    ("bnn_edge.cli.cil_cmd", ["cil", "sweep"]),
    ("bnn_edge.cli.export_cmd", ["export", "inspect"]),
    ("bnn_edge.cli.run_cmd", ["run", "flash"]),
    ("bnn_edge.cli.simulate_cmd", ["simulate"]),
    ("bnn_edge.cli.boards_cmd", ["boards"]),
]


def _register() -> None:
    import importlib

    for module_name, names in _COMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue  # that step of the chain is not built yet
            raise
        for name in names:
            cmd = getattr(module, name.replace("-", "_"), None)
            if cmd is not None:
                main.add_command(cmd, name)


_register()
