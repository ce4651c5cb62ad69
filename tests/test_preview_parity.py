"""`plan --changes` lists exactly what the next `run --once` writes (issue 16).

The preview and the run call one decision (:func:`cadence.sync.decide.decide`), detail rewrites
included. A property test over random edits of a small crowded world (the edits of
tests/test_convergence.py: rhythm, gaps, meeting length, capacity, contacts, renames in the
customer file, invitations, reassignment, segments): the preview made before the cycle names
the same writes, one for one, as the cycle then performs. Then the CLI, end to end.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cadence.app.cli import app
from cadence.sync.reconcile import Action
from cadence.sync.workspace import Workspace, load_validated_policies
from tests.test_convergence import CROWDED, EDITS, rows
from tests.workspace_kit import NOW
from tests.workspace_kit import write_workspace as lay_out


def said(action: Action) -> tuple[Any, ...]:
    p, r = action.planned, action.record
    return (
        action.kind,
        action.owner,
        r.key if r else None,
        p.key if p else None,
        p.start if p else None,
        action.reason,
    )


@settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(edits=st.lists(st.sampled_from(sorted(EDITS)), min_size=1, max_size=3, unique=True))
@example(edits=["renamed"])  # a details rewrite: the preview once said "no changes"
@example(edits=["invitations on", "longer meetings"])
def test_the_preview_names_exactly_the_writes_the_next_run_makes(
    edits: list[str], tmp_path_factory
) -> None:
    folder = tmp_path_factory.mktemp("world")
    lay_out(folder, rows(), backend="memory", policies=CROWDED)
    ws = Workspace.open(folder / "cadence.toml")
    try:
        ws.run_cycle(NOW)
        for name in edits:
            EDITS[name](folder, ws)
        ws.policies = load_validated_policies(ws.config)
        later = NOW + timedelta(hours=1)
        preview = ws.decide(ws.plan(later)).changes
        ran = ws.run_cycle(later)
        assert ran.complete, ran.attention()
        assert sorted(map(said, preview), key=repr) == sorted(map(said, ran.applied), key=repr)
    finally:
        ws.close()


def test_plan_changes_on_the_command_line_matches_the_run(tmp_path) -> None:
    config = lay_out(tmp_path, rows(), backend="ics", policies=CROWDED)
    runner = CliRunner()
    args = ["--config", str(config), "--now", NOW.isoformat()]
    assert runner.invoke(app, ["run", "--once", *args]).exit_code == 0
    EDITS["renamed"](tmp_path, None)  # type: ignore[arg-type]

    preview = runner.invoke(app, ["plan", "--changes", *args])
    ran = runner.invoke(app, ["run", "--once", *args])

    assert preview.exit_code == 0 and ran.exit_code == 0, preview.output + ran.output
    writes = [
        line
        for line in ran.output.splitlines()
        if line.split(" ")[0] in ("create", "move", "cancel")
    ]
    listed = [
        line
        for line in preview.output.splitlines()
        if line.split(" ")[0] in ("create", "move", "cancel")
    ]
    assert writes == listed and len(writes) > 0
    assert "details changed" in writes[0]
    assert preview.output.splitlines()[-1].startswith(f"{len(writes)} changes; ")
