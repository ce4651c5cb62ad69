"""Local files a connector reads or writes: where state goes, and whether secrets, token caches
and CA bundles are safe to use.

Shared by every connector (token caches, service-account keys, password files) and by
``cadence check`` through each backend's ``check_local``: the same rule refuses a secret at
run time and reports it beforehand, with the same words.
"""

from __future__ import annotations

import contextlib
import errno
import os
import ssl
import stat
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from connectors.base import AuthError


def default_state_dir(env: Mapping[str, str]) -> Path:
    """Where cadence keeps what it writes besides the database (token caches): systemd's
    ``$STATE_DIRECTORY`` under the shipped unit (``StateDirectory=cadence``, writable although
    ``ProtectSystem=strict`` makes /etc read-only), else ``$XDG_STATE_HOME/cadence``, else
    ``~/.local/state/cadence``.
    """
    state = env.get("STATE_DIRECTORY", "").split(":")[0]
    if state:
        return Path(state)
    xdg = env.get("XDG_STATE_HOME", "")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "cadence"
    return Path.home() / ".local" / "state" / "cadence"


def configured_path(value: str, base_dir: Path) -> Path:
    """A path from the configuration: ``~`` expanded, a relative one taken from ``base_dir``
    (the folder holding cadence.toml)."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else base_dir / path


def configured_password(
    section: Mapping[str, Any], env: Mapping[str, str], file_at: Callable[[str], Path], label: str
) -> str | None:
    """The password a connector's ``section`` names: the environment variable ``password_env``,
    else the private file ``password_file`` (``file_at`` turns its value, a template maybe,
    into the file); None when it names neither.

    Raises :class:`AuthError` starting with ``label`` when the variable is not set, or the file
    cannot be read or other users can read it (:func:`read_private_file`).
    """
    if "password_env" in section:
        name = section["password_env"]
        password = env.get(name)
        if password is None:
            raise AuthError(f"{label}: environment variable {name} is not set (password_env)")
        return password
    if "password_file" not in section:
        return None
    path = file_at(section["password_file"])
    try:
        return read_private_file(path).decode("utf-8").strip("\r\n")
    except AuthError as exc:
        raise AuthError(f"{label}: password_file: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise AuthError(f"{label}: cannot read password_file {path}: {reason}") from None


def secret_file_problem(path: Path) -> str | None:
    """Why the secret file ``path`` cannot be used, or None: missing, not a regular file,
    unreadable, or readable by users other than its owner (group or other permission bits).
    """
    try:
        info = path.stat()
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or exc}"
    if not stat.S_ISREG(info.st_mode):
        return f"{path} is not a regular file"
    if info.st_mode & 0o077:
        return _open_to_others(path, info.st_mode)
    if not os.access(path, os.R_OK):
        return f"cannot read {path}: permission denied"
    return None


def writable_problem(path: Path) -> str | None:
    """Why cadence could not create or replace the file ``path``, or None.

    The file's folder must exist and be writable, or be creatable (its nearest existing
    ancestor writable). A folder under ``/etc`` or ``/usr`` is named too: the shipped systemd
    unit (``ProtectSystem=strict``) lets the daemon write only its state directory.
    """
    folder = path.parent
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        return f"cannot create {folder}: {probe} is not a folder"
    if not os.access(probe, os.W_OK | os.X_OK):
        return f"cannot write {path}: {probe} is not writable by this user"
    if path.exists() and (path.is_dir() or not os.access(path, os.W_OK)):
        return f"cannot write {path}: not a writable file"
    if any(folder.is_relative_to(p) for p in ("/etc", "/usr")):
        return (
            f"{path} is under {folder}, which the shipped service unit makes read-only "
            "(ProtectSystem=strict); put it in the state directory (/var/lib/cadence)"
        )
    return None


def _open_to_others(path: Path, mode: int) -> str:
    # One wording for `cadence check` (secret_file_problem) and for a refusal at use time.
    return (
        f"{path} can be read by other users (mode {stat.S_IMODE(mode):04o}); run `chmod 600 {path}`"
    )


def token_file_problem(path: Path) -> str | None:
    """Why the token file ``path`` (a file cadence writes and reads back: the Outlook token
    cache, a stored Google token) cannot be used, or None; a file not written yet is fine.

    As :func:`secret_file_problem`, and a symbolic link is refused: :func:`read_private_file`
    does not follow one there, since whoever can plant a link could point it at another secret.
    """
    try:
        info = path.lstat()
    except (FileNotFoundError, NotADirectoryError):
        return None  # not written yet; whether it can be is writable_problem's question
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or exc}"
    if stat.S_ISLNK(info.st_mode):
        return (
            f"{path} is a symbolic link, which cadence does not follow for token files; "
            "replace it with the file itself, or remove it"
        )
    return secret_file_problem(path)


def read_private_file(path: Path, *, follow_symlinks: bool = True) -> bytes:
    """The contents of the secret file ``path``, read only if no other user can read it.

    The checks are made on the opened file (``fstat``), so the file cannot be swapped between
    check and read. With ``follow_symlinks=False`` (token files cadence writes itself) the file
    is opened with ``O_NOFOLLOW``: a symbolic link is refused, not followed.

    Raises :class:`AuthError` naming the file and the fix when it is a refused link, not a
    regular file, or readable by group or others; ``FileNotFoundError`` when it does not exist
    and other ``OSError`` when it cannot be read (callers decide what those mean).
    """
    # O_NONBLOCK: opening a FIFO planted there must not hang; it is then refused as irregular.
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        # ELOOP on Linux (EMLINK on FreeBSD) is how O_NOFOLLOW says "this is a link".
        if not follow_symlinks and exc.errno in (errno.ELOOP, errno.EMLINK):
            raise AuthError(token_file_problem(path) or f"{path}: {exc.strerror}") from None
        raise
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise AuthError(f"{path} is not a regular file; replace it with the file itself")
        if info.st_mode & 0o077:
            raise AuthError(_open_to_others(path, info.st_mode))
        return handle.read()


def write_private_file(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically, readable by the owner only (mode 0600).

    A missing folder is created with mode 0700. The data goes to a temporary file made by
    ``mkstemp`` in the same folder (never readable by others, whatever the umask), is flushed
    to disk and renamed over ``path``: a crash leaves the old file or the new one, never half of
    one, and a symbolic link at ``path`` is replaced rather than written through. Raises
    ``OSError`` when the folder cannot be created or written.
    """
    folder = path.parent
    if not folder.is_dir():
        try:
            folder.mkdir(mode=0o700, parents=True)
        except FileExistsError:
            pass  # made meanwhile by someone else: leave its mode alone
        else:
            os.chmod(folder, 0o700)  # mkdir's mode is narrowed by the umask, never widened
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    # Make the rename itself durable; some file systems cannot sync a folder, which is fine.
    with contextlib.suppress(OSError):
        dir_fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def ca_bundle_problem(path: Path) -> str | None:
    """Why ``path`` cannot serve as the CA certificates for TLS (``requests``' ``verify``), or
    None: missing, unreadable, or a file holding no PEM certificate. A folder of hashed
    certificates (``c_rehash``) is accepted when it can be read.
    """
    if path.is_dir():
        if not os.access(path, os.R_OK | os.X_OK):
            return f"cannot read the CA certificate folder {path}: permission denied"
        return None
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=str(path))
    except ssl.SSLError:
        return f"{path} holds no PEM certificate; give the CA certificates file"
    except FileNotFoundError:
        return f"CA bundle {path} does not exist"
    except OSError as exc:
        return f"cannot read the CA bundle {path}: {exc.strerror or exc}"
    return None
