"""Log lines under journald carry no timestamp of their own, but their priority (issue 16)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import types

from cadence.app.logsetup import handler_for, under_journal
from tests.test_cli import MAIN


def record(level: int, message: str) -> logging.LogRecord:
    return logging.LogRecord("cadence.daemon", level, __file__, 1, message, None, None)


def test_a_terminal_gets_timestamps(tmp_path) -> None:
    with open(tmp_path / "err", "w") as stream:
        handler = handler_for(stream, {})
        line = handler.format(record(logging.INFO, "cycle done"))
    assert line.endswith(" INFO cadence.daemon: cycle done")
    assert line[:4].isdigit()  # the year of the timestamp


def test_the_journal_stream_gets_priorities_and_no_timestamp(tmp_path) -> None:
    with open(tmp_path / "err", "w") as stream:
        st = os.fstat(stream.fileno())
        env = {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}
        assert under_journal(stream, env)
        handler = handler_for(stream, env)
        assert handler.format(record(logging.WARNING, "slow")) == "<4>cadence.daemon: slow"
        assert handler.format(record(logging.ERROR, "a\nb")) == "<3>cadence.daemon: a\n<3>b"
        # Another stream's numbers (stderr redirected elsewhere): a plain terminal format.
        assert not under_journal(stream, {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino + 1}"})


def test_with_the_systemd_package_records_go_to_the_journal_with_fields(
    tmp_path, monkeypatch
) -> None:
    sent: list[logging.LogRecord] = []

    class JournalHandler(logging.Handler):
        def __init__(self, **fields: str) -> None:
            super().__init__()
            self.fields = fields

        def emit(self, record: logging.LogRecord) -> None:
            sent.append(record)

    journal = types.ModuleType("systemd.journal")
    journal.JournalHandler = JournalHandler  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "systemd", types.ModuleType("systemd"))
    monkeypatch.setitem(sys.modules, "systemd.journal", journal)
    with open(tmp_path / "err", "w") as stream:
        st = os.fstat(stream.fileno())
        handler = handler_for(stream, {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"})
    assert isinstance(handler, JournalHandler)
    assert handler.fields == {"SYSLOG_IDENTIFIER": "cadence"}
    rec = record(logging.INFO, "created")
    rec.owner = "ana@example.com"
    handler.handle(rec)
    assert sent[0].CADENCE_OWNER == "ana@example.com"  # type: ignore[attr-defined]
    assert sent[0].CADENCE_LOGGER == "cadence.daemon"  # type: ignore[attr-defined]


def test_the_daemon_under_journald_writes_priority_prefixed_lines(tmp_path) -> None:
    # A real process whose stderr is the stream JOURNAL_STREAM names, as under systemd.
    err = tmp_path / "stderr"
    with open(err, "w") as stream:
        st = os.fstat(stream.fileno())
        env = {**os.environ, "JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}
        subprocess.run(
            [
                sys.executable,
                "-m",
                "cadence.app.cli",
                "daemon",
                "--config",
                str(tmp_path / "none.toml"),
            ],
            stderr=stream,
            env=env,
            cwd=MAIN,
            timeout=60,
        )
    lines = err.read_text().splitlines()
    assert lines and all(line.startswith("<3>") for line in lines), lines
