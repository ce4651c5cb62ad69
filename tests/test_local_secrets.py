"""The shared helpers for secret and token files in connectors.base: reading only what nobody
else can read, writing atomically with owner-only permissions, and checking CA bundles."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from connectors.base import AuthError
from connectors.localfiles import (
    ca_bundle_problem,
    read_private_file,
    token_file_problem,
    write_private_file,
)
from tests.graph_fake import make_certificate


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def private(path: Path, data: bytes = b"secret") -> Path:
    path.write_bytes(data)
    path.chmod(0o600)
    return path


def test_written_file_is_0600_in_a_new_0700_folder_even_with_a_permissive_umask(tmp_path):
    path = tmp_path / "state" / "cadence" / "tokens.json"
    previous = os.umask(0)
    try:
        write_private_file(path, b'{"a": 1}')
    finally:
        os.umask(previous)
    assert path.read_bytes() == b'{"a": 1}'
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    assert sorted(os.listdir(path.parent)) == ["tokens.json"]  # no temporary file left


def test_rewriting_narrows_a_file_left_with_wider_permissions(tmp_path):
    path = tmp_path / "tokens.json"
    path.write_bytes(b"old")
    path.chmod(0o644)
    write_private_file(path, b"new")
    assert (path.read_bytes(), mode(path)) == (b"new", 0o600)


def test_an_existing_folder_keeps_its_mode(tmp_path):
    folder = tmp_path / "state"
    folder.mkdir(mode=0o750)
    folder.chmod(0o750)  # as StateDirectoryMode=0750 leaves /var/lib/cadence
    write_private_file(folder / "tokens.json", b"x")
    assert mode(folder) == 0o750


def test_writing_replaces_a_planted_link_instead_of_writing_through_it(tmp_path):
    victim = private(tmp_path / "victim", b"do not touch")
    path = tmp_path / "tokens.json"
    path.symlink_to(victim)
    write_private_file(path, b"token")
    assert victim.read_bytes() == b"do not touch"
    assert not path.is_symlink()
    assert path.read_bytes() == b"token"


def test_a_failed_write_leaves_no_temporary_file_and_raises_oserror(tmp_path):
    folder = tmp_path / "state"
    folder.mkdir()
    (folder / "tokens.json").mkdir()  # a folder where the file should be: the rename fails
    with pytest.raises(IsADirectoryError):
        write_private_file(folder / "tokens.json", b"token")
    assert sorted(os.listdir(folder)) == ["tokens.json"]


def test_writing_into_a_path_under_a_regular_file_raises_oserror(tmp_path):
    blocker = private(tmp_path / "not-a-folder")
    with pytest.raises(OSError):
        write_private_file(blocker / "tokens.json", b"token")


def test_reading_a_private_file_returns_its_bytes(tmp_path):
    path = private(tmp_path / "key.pem", b"-----BEGIN-----")
    assert read_private_file(path) == b"-----BEGIN-----"
    assert read_private_file(path, follow_symlinks=False) == b"-----BEGIN-----"


@pytest.mark.parametrize("file_mode", [0o640, 0o604, 0o660])
def test_a_file_others_can_read_is_refused_with_the_chmod_hint(tmp_path, file_mode):
    path = private(tmp_path / "key.pem")
    path.chmod(file_mode)
    with pytest.raises(AuthError) as caught:
        read_private_file(path)
    assert str(caught.value) == (
        f"{path} can be read by other users (mode {file_mode:04o}); run `chmod 600 {path}`"
    )


def test_a_link_is_refused_when_not_following_and_followed_otherwise(tmp_path):
    target = private(tmp_path / "real.json", b"{}")
    link = tmp_path / "tokens.json"
    link.symlink_to(target)
    with pytest.raises(AuthError) as caught:
        read_private_file(link, follow_symlinks=False)
    assert str(caught.value) == (
        f"{link} is a symbolic link, which cadence does not follow for token files; "
        "replace it with the file itself, or remove it"
    )
    assert read_private_file(link) == b"{}"  # a key mounted as a link (Kubernetes secrets)


def test_a_followed_link_is_judged_by_its_target(tmp_path):
    target = private(tmp_path / "real.pem")
    target.chmod(0o644)
    link = tmp_path / "key.pem"
    link.symlink_to(target)
    with pytest.raises(AuthError, match=r"\(mode 0644\)"):
        read_private_file(link)


def test_a_fifo_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "tokens.json"
    os.mkfifo(fifo, 0o600)
    outcome: list[BaseException] = []

    def read() -> None:
        try:
            read_private_file(fifo, follow_symlinks=False)
        except BaseException as exc:  # handed to the test thread to assert on
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=10)  # returns at once unless the open blocks (the bug)
    assert not reader.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], AuthError)
    assert str(outcome[0]) == f"{fifo} is not a regular file; replace it with the file itself"


def test_a_missing_file_is_file_not_found_for_the_caller_to_judge(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_private_file(tmp_path / "none.json", follow_symlinks=False)


def test_token_file_problem_accepts_a_missing_or_private_file(tmp_path):
    assert token_file_problem(tmp_path / "not-yet.json") is None
    assert token_file_problem(private(tmp_path / "tokens.json")) is None


def test_token_file_problem_names_a_link_and_an_open_file(tmp_path):
    target = private(tmp_path / "real.json")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    assert token_file_problem(link) == (
        f"{link} is a symbolic link, which cadence does not follow for token files; "
        "replace it with the file itself, or remove it"
    )
    target.chmod(0o640)
    assert token_file_problem(target) == (
        f"{target} can be read by other users (mode 0640); run `chmod 600 {target}`"
    )


def test_ca_bundle_problems(tmp_path):
    good = tmp_path / "ca.pem"
    good.write_bytes(make_certificate()[0])
    assert ca_bundle_problem(good) is None
    assert ca_bundle_problem(tmp_path) is None  # a c_rehash folder is what requests accepts too
    missing = tmp_path / "missing.pem"
    assert ca_bundle_problem(missing) == f"CA bundle {missing} does not exist"
    not_pem = tmp_path / "notes.txt"
    not_pem.write_text("not a certificate\n")
    assert ca_bundle_problem(not_pem) == (
        f"{not_pem} holds no PEM certificate; give the CA certificates file"
    )
