"""A real Dovecot IMAP server on 127.0.0.1 for the mail tests, started by the tests themselves.

Dovecot comes from Debian's ``dovecot-imapd`` package (``make test`` installs it when missing).
Each server runs in the foreground (``dovecot -F``) with its own configuration, runtime folder
and Maildir storage in a temporary folder, on a free port, without TLS, with a passwd-file of
the users it is given. It runs as the current user; as root, Dovecot's own unprivileged users
(``dovecot``, ``dovenull``) run the login and mail processes, since Dovecot refuses mail access
as root.
"""

from __future__ import annotations

import contextlib
import getpass
import grp
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.local_servers import free_port, wait_for_port

DOVECOT = Path("/usr/sbin/dovecot")
INSTALL_HINT = "install it with `apt-get install -y dovecot-imapd` (make test does)"


@dataclass(frozen=True)
class Dovecot:
    """A running Dovecot: ``users`` maps login (an e-mail address) to password."""

    host: str
    port: int
    users: dict[str, str]


def _identity() -> tuple[str, str, str]:
    """(internal user, its group, login user) the server's processes run as."""
    if os.geteuid() != 0:
        user = getpass.getuser()
        return user, grp.getgrgid(os.getegid()).gr_name, user
    return "dovecot", "dovecot", "dovenull"


def _config(folder: Path, port: int) -> str:
    internal, group, login = _identity()
    return f"""
base_dir = {folder}/run
state_dir = {folder}/state
log_path = {folder}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
default_internal_user = {internal}
default_internal_group = {group}
default_login_user = {login}
mail_location = maildir:{folder}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {folder}/passwd
}}
userdb {{
  driver = static
  args = uid={internal} gid={group} home={folder}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \\Sent
    auto = subscribe
  }}
}}
"""


@contextlib.contextmanager
def dovecot_server(users: dict[str, str]) -> Iterator[Dovecot]:
    """Run Dovecot for ``users`` until the block ends; its folder is removed afterwards."""
    if not DOVECOT.exists():
        raise RuntimeError(f"{DOVECOT} is missing: {INSTALL_HINT}")
    folder = Path(tempfile.mkdtemp(prefix="cadence-dovecot-"))
    folder.chmod(0o755)  # the mail processes may run as another user (see the module docs)
    for name in ("run", "state", "mail"):
        (folder / name).mkdir()
    internal, group, _ = _identity()
    shutil.chown(folder / "mail", internal, group)
    (folder / "passwd").write_text(
        "".join(f"{user}:{{PLAIN}}{password}\n" for user, password in users.items())
    )
    port = free_port()
    (folder / "dovecot.conf").write_text(_config(folder, port))
    process = subprocess.Popen(
        [str(DOVECOT), "-F", "-c", str(folder / "dovecot.conf")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, process, "dovecot")
        yield Dovecot(host="127.0.0.1", port=port, users=dict(users))
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)  # Dovecot waits for its children before it exits
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        shutil.rmtree(folder, ignore_errors=True)
