"""Atomic output directories: a command's ``--out`` appears complete, or not at all.

A command builds its output in a temporary sibling ``<parent>/.<name>.tmp-<pid>-<rand>`` (same
parent, hence same file system) and, once every file is written, renames it into place. An
existing ``--out`` is first renamed aside to ``.<name>.old-<pid>-<rand>``, the new directory
renamed in, then the old one deleted. A reader therefore sees the old complete directory, the new
complete one, or -- for the instant between the two renames -- none; never a mix of both. A
command killed while it works leaves only its hidden temporary sibling, removed by the next
command that writes there (which also puts back an ``.old`` directory a kill between the two
renames left behind).

While it works, the command holds ``<parent>/.<name>.lock`` (``fcntl.flock``, exclusive,
non-blocking): a second command writing the same ``--out`` fails at once with one clear error, and
the first one's results stay intact.

An existing ``--out`` is replaced only if it is empty or holds nothing but what such a command
writes (``known`` name patterns): pointing ``--out`` at a directory of other files is an error,
never a deletion.
"""

from __future__ import annotations

import fnmatch
import os
import secrets
import shutil
from pathlib import Path
from types import TracebackType
from typing import Mapping, Sequence

from bnn_edge.errors import UserError

try:  # POSIX only; elsewhere the directory is still written atomically, only unlocked
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]


def _cannot_write(flag: str, out: str | os.PathLike, exc: OSError) -> UserError:
    for parent in Path(os.path.abspath(os.fspath(out))).parents:  # nearest first: the one that exists
        if parent.exists():
            if not parent.is_dir():
                return UserError(f"{flag} {out}: {parent} is a file, not a folder")
            break
    return UserError(f"{flag} {out}: cannot write there ({exc.strerror or exc})")


class OutputLock:
    """Exclusive, non-blocking lock ``<parent>/.<name>.lock`` for the output directory ``final``.

    :class:`UserError` at once when another process holds it. The lock file is removed on
    release; a process that opened a lock file just removed by its holder notices (its inode is
    no longer the path's) and opens the path again, so two processes never both hold "the" lock.
    """

    def __init__(self, final: Path, flag: str = "--out", shown: str | os.PathLike | None = None):
        self.final = final
        self.path = final.parent / f".{final.name}.lock"
        self.flag = flag
        self.shown = shown if shown is not None else final
        self.fd: int | None = None

    def acquire(self) -> "OutputLock":
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise _cannot_write(self.flag, self.shown, exc) from None
            if fcntl is None:  # pragma: no cover
                self.fd = fd
                return self
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise UserError(
                    f"{self.flag} {self.shown}: another bnn-edge command is writing there (it holds {self.path}); "
                    f"wait for it to finish or choose another {self.flag}"
                ) from None
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
                self.fd = fd
                return self
            os.close(fd)  # the holder removed it between our open and our lock: try again

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            os.unlink(self.path)
        except OSError:
            pass
        os.close(self.fd)
        self.fd = None

    def __enter__(self) -> "OutputLock":
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _real(path: str | os.PathLike) -> Path:
    return Path(os.path.realpath(os.path.abspath(os.fspath(path))))


def refuse_within(out: str | os.PathLike, flag: str, keep: Mapping[str, str | os.PathLike | None]) -> None:
    """Refuse an ``out`` that is, or holds, one of the ``keep`` paths (``{option: path}``, None
    skipped): replacing ``out`` as a whole would delete what that option names (symbolic links
    followed). A :class:`UserError` naming both options; nothing is written."""
    final = _real(out)
    for option, path in keep.items():
        if path is None:
            continue
        other = _real(path)
        if other == final or final in other.parents:
            raise UserError(f"{option} {path}: {'is' if other == final else 'inside'} {flag} {out}, which is replaced "
                            f"as a whole when the command ends; choose {option} outside it")


def _matches(name: str, known: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in known)


class AtomicDir:
    """Build the directory ``out`` in a temporary sibling; :meth:`commit` renames it into place.

    Use as a context manager: ``with AtomicDir(out, "a training run", KNOWN) as d: write into
    d.path``. Leaving the block normally commits; an exception (a kill, an error) before
    :meth:`commit` removes the temporary directory and leaves ``out`` as it was. The lock is held
    from construction to the end of the block. ``known``: name patterns of what this command
    writes (an existing ``out`` holding anything else is refused, not replaced).
    """

    def __init__(self, out: str | os.PathLike, kind: str, known: Sequence[str], flag: str = "--out",
                 keep: Mapping[str, str | os.PathLike | None] | None = None):
        refuse_within(out, flag, keep or {})
        self.shown = out
        self.kind = kind
        self.flag = flag
        final = Path(os.path.abspath(os.fspath(out)))
        if final.is_symlink() and final.resolve().is_dir():
            final = final.resolve()
        if not final.name or final.name in (".", ".."):
            raise UserError(f"{flag} {out}: not a directory name that can be written")
        if final.exists() and not final.is_dir():
            raise UserError(f"{flag} {out}: a file, not a directory")
        self.final = final
        self.known = tuple(known)
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _cannot_write(flag, out, exc) from None
        self.lock = OutputLock(final, flag, out).acquire()
        try:
            self._recover()
            self._check_replaceable()
            self.path = final.parent / f".{final.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
            self.path.mkdir()
        except BaseException as exc:
            self.lock.release()
            if isinstance(exc, OSError):
                raise _cannot_write(flag, out, exc) from None
            raise
        self.committed = False

    def _siblings(self, tag: str) -> list[Path]:
        prefix = f".{self.final.name}.{tag}-"
        try:
            names = os.listdir(self.final.parent)
        except OSError:
            return []
        return sorted((self.final.parent / n for n in names if n.startswith(prefix)), key=lambda p: p.stat().st_mtime)

    def _recover(self) -> None:
        """Remove what killed commands left (we hold the lock: nobody else is writing here)."""
        old = self._siblings("old")
        if old and not self.final.exists():
            os.rename(old[-1], self.final)  # killed between its two renames: put the last result back
            old = old[:-1]
        for p in old + self._siblings("tmp"):
            shutil.rmtree(p, ignore_errors=True)

    def _check_replaceable(self) -> None:
        if not self.final.is_dir():
            return
        foreign = sorted(n for n in os.listdir(self.final) if not _matches(n, self.known))
        if foreign:
            shown = ", ".join(repr(n) for n in foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
            raise UserError(
                f"{self.flag} {self.shown}: exists and holds {shown}, which is not part of {self.kind}; "
                f"choose a new or empty directory (it is replaced as a whole)"
            )

    def commit(self) -> Path:
        """Rename the finished directory into place (replacing an existing ``out``); returns ``out``."""
        if self.committed:
            return self.final
        _fsync_dir(self.path)
        if self.final.exists():
            old = self.final.parent / f".{self.final.name}.old-{os.getpid()}-{secrets.token_hex(4)}"
            os.rename(self.final, old)
            os.rename(self.path, self.final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(self.path, self.final)
        _fsync_dir(self.final.parent)
        self.committed = True
        return self.final

    def close(self) -> None:
        """Drop the temporary directory if not committed; release the lock."""
        if not self.committed:
            shutil.rmtree(self.path, ignore_errors=True)
        self.lock.release()

    def __enter__(self) -> "AtomicDir":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        try:
            if exc_type is None:
                self.commit()
        finally:
            self.close()


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_file_atomic(path: Path, data: bytes | str) -> None:
    """Write one file through a temporary sibling and ``os.replace`` (readers never see it half-written)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        with open(tmp, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def writable_dir(path: str | os.PathLike, option: str = "--out") -> Path:
    """Create ``path`` (parents too) and check that it is writable: a :class:`UserError` naming
    ``option`` otherwise."""
    p = Path(path)
    try:
        p.mkdir(parents=True, exist_ok=True)
        probe = p / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise _cannot_write(option, path, exc) from None
    return p
