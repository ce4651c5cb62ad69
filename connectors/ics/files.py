"""The calendar files themselves: names, versions, the lock, and replacing one atomically.

Files are replaced atomically (temporary file in the same folder, fsync, :func:`os.replace`)
under an :func:`fcntl.flock` on ``.<email>.ics.lock``, so a reader never sees half a file and
two processes never interleave their read-modify-write. A file keeps its mode; a new one gets
``0o666`` less the process umask (systemd's ``UMask=0027``: ``0o640``).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from connectors.base import BackendError


def version_of(data: bytes) -> str:
    """What tells one version of a file's bytes from another (a short hash)."""
    return hashlib.sha256(data).hexdigest()[:16]


def file_stem(owner: str) -> str:
    """``owner``'s address as the name of their file (without ``.ics``); :class:`BackendError`
    when it cannot be one.
    """
    stem = owner.strip().lower()
    if not stem or "@" not in stem or stem.startswith(".") or any(c in stem for c in "/\\\0"):
        raise BackendError(f"{owner!r} is not an e-mail address usable as a file name")
    return stem


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``.<name>.lock`` next to ``path`` (kept, never deleted:
    deleting lock files lets two processes lock different files).
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path.with_name(f".{path.name}.lock"), "a")  # noqa: SIM115
    except OSError as exc:
        raise BackendError(f"{path.parent}: cannot create the lock file: {exc}") from None
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def fingerprint(path: Path) -> tuple[int, int, int] | None:
    """What tells one version of a file from the next (None: no file)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


_UMASK_LOCK = threading.Lock()


def process_umask(status: Path = Path("/proc/self/status")) -> int:
    """The process's umask, read without changing it where the system tells it
    (``Umask:`` in ``/proc/self/status``, Linux 4.7+): setting it to read it back, the only
    portable way, briefly changes it for every thread of the process. That fallback is
    serialised here, which guards against this module's other threads only.
    """
    try:
        with open(status, encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8) & 0o777
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:
        mask = os.umask(0o077)  # the strictest value, for the instant it is in force
        os.umask(mask)
    return mask


def replace_file(path: Path, data: bytes) -> None:
    """Replace ``path`` by ``data`` atomically: readers see the old file or the new one.

    The file keeps its mode; a new one gets ``0o666`` less the umask, as ``open()`` would
    give it (``mkstemp`` makes it ``0o600``, whatever the umask: systemd's ``UMask=0027``
    should give ``0o640``, a shell's ``022`` ``0o644``).
    """
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = 0o666 & ~process_umask()
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, mode)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)  # make the rename itself durable
        finally:
            os.close(folder)
    except OSError as exc:
        raise BackendError(f"{path}: cannot write: {exc.strerror or exc}") from None
