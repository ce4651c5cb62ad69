"""``cadence report`` (rhythm health as text, and as one HTML page) and ``cadence auth``
(credentials for a calendar backend, stored once)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from cadence.app import cli_common
from cadence.app.cli_common import ConfigOption, NowOption, config_path, open_workspace, parse_now
from cadence.app.terminal import progress_bars
from cadence.values.errors import UserError


def report(
    html: Annotated[
        Path | None, typer.Option(help="Also write a self-contained HTML page.")
    ] = None,
    config: ConfigOption = None,
    now: NowOption = None,
) -> None:
    """Rhythm health by segment and salesperson."""
    if html is not None and not html.parent.is_dir():
        raise UserError(f"cannot write {html}: there is no folder {html.parent}")
    from cadence.report.figures import build_report
    from cadence.report.html import render_html
    from cadence.report.text import render_text
    from cadence.store.snoozes import NAMESPACE as SNOOZE_NAMESPACE
    from cadence.store.snoozes import read_snoozes

    moment = parse_now(now)
    with open_workspace(config_path(config)) as ws, progress_bars(cli_common.err) as tick:
        ws.progress = tick
        customers = ws.store.customers()
        planned = ws.store.plan() or ws.plan(moment, read_calendars=False).contacts
        result = build_report(
            customers,
            ws.store.contacts_by_customer(),
            planned,
            ws.policies,
            ws.salespeople(customers),
            moment,
            season_parser=ws.season,
            attention=ws.attention(),
            snoozes=read_snoozes(ws.store.state(SNOOZE_NAMESPACE)),
            progress=tick,
        )
    print(render_text(result))
    if html is not None:
        try:
            html.write_text(render_html(result), encoding="utf-8")
        except OSError as exc:
            raise UserError(f"cannot write {html}: {exc.strerror or exc}") from None
        print(f"wrote {html}")


def auth_google(
    email: Annotated[str, typer.Argument(help="The salesperson's Google account.")],
    config: ConfigOption = None,
) -> None:
    """Authorise cadence for one salesperson's Google calendar and mail (OAuth, once)."""
    from cadence.inputs.config import load_config
    from connectors.base import BackendContext
    from connectors.google import run_oauth_flow

    cfg = load_config(config_path(config))
    section = cfg.calendars.get("google")
    if section is None:
        raise UserError("cadence.toml has no [calendar.google] section")
    context = BackendContext(base_dir=cfg.base_dir, salespeople=cfg.salespeople, env=os.environ)
    path = run_oauth_flow(section, context, email.lower())
    print(f"stored the token for {email} in {path} (readable by this user only)")
