"""Real servers on 127.0.0.1 for connector tests: Radicale (CalDAV) and pymap (IMAP).

Each is started as a subprocess on a free port with its data in a temporary folder, waited for
until its port answers, and stopped (terminate, then kill) when the test is done.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, what: str, timeout: float = 20.0) -> None:
    """Block until ``port`` accepts connections; fail with the server's output if it died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().decode(errors="replace") if process.stdout else ""
            raise RuntimeError(f"{what} exited with {process.returncode}:\n{output}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {timeout} s")


def stop(process: subprocess.Popen) -> None:
    """Terminate the server we started, killing it if it does not stop."""
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@dataclass(frozen=True)
class Radicale:
    """A running Radicale server; ``users`` maps user name -> password (htpasswd, plain)."""

    url: str  # http://127.0.0.1:PORT/
    port: int
    storage: Path
    users: dict[str, str]


@contextlib.contextmanager
def radicale_server(folder: Path, users: dict[str, str]) -> Iterator[Radicale]:
    """Run Radicale with htpasswd users (plain passwords) and storage under ``folder``.

    Rights are ``authenticated``: any logged-in user may use any collection, as a shared
    service account would on a real server.
    """
    storage = folder / "collections"
    htpasswd = folder / "users"
    htpasswd.write_text("".join(f"{u}:{p}\n" for u, p in users.items()), encoding="utf-8")
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "radicale",
            "--config",
            "",
            "--storage-filesystem-folder",
            str(storage),
            "--server-hosts",
            f"127.0.0.1:{port}",
            "--auth-type",
            "htpasswd",
            "--auth-htpasswd-filename",
            str(htpasswd),
            "--auth-htpasswd-encryption",
            "plain",
            "--auth-delay",
            "0",  # no pause after a refused login: tests refuse some on purpose
            "--rights-type",
            "authenticated",
            "--logging-level",
            "warning",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, process, "radicale")
        yield Radicale(url=f"http://127.0.0.1:{port}/", port=port, storage=storage, users=users)
    finally:
        stop(process)


@dataclass(frozen=True)
class Imap:
    """A running pymap server (in-memory ``dict`` backend) with one demo user."""

    host: str
    port: int
    user: str
    password: str


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 signed by its own key: ``(cert.pem, key.pem)`` in ``folder``.

    Clients trust it by taking ``cert.pem`` as their CA bundle.
    """
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@contextlib.contextmanager
def imap_server(
    user: str = "ana@example.com",
    password: str = "imap-secret",
    tls: tuple[Path, Path] | None = None,
) -> Iterator[Imap]:
    """Run pymap's in-memory IMAP server for one user; STARTTLS with ``tls=(cert, key)``.

    The ``--demo-data`` mailboxes are INBOX, Sent and Trash; pymap advertises no SPECIAL-USE
    flags, so the sent folder is found by its name there.
    """
    pymap = Path(sys.executable).with_name("pymap")
    port = free_port()
    tls_args = ["--cert", str(tls[0]), "--key", str(tls[1])] if tls else ["--no-tls"]
    process = subprocess.Popen(
        [
            str(pymap),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *tls_args,
            "dict",
            "--demo-data",
            "--demo-user",
            user,
            "--demo-password",
            password,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, process, "pymap")
        yield Imap(host="127.0.0.1", port=port, user=user, password=password)
    finally:
        stop(process)
