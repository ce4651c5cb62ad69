"""``cadence check``: every problem ``run`` would meet, found first (:func:`check_all`).

Besides each file's own validation, the checks across inputs that are each valid alone:
customers against policies and cadence.toml (a segment nobody defined or an owner nobody
listed still plans with the defaults, so those are warnings; a zone that does not exist or
seasons that leave no free day cannot be planned, so those are errors), a dry plan of the
customer file as ``run`` would make it, customers whose hours never meet their owner's (or
not for part of the year: warnings naming the fix), and the local files each connector names.
Each kind lives in its own module: :mod:`.check_config` (cadence.toml against the policies),
:mod:`.check_customers`, :mod:`.check_plan` (the dry plan) and :mod:`.check_local` (files and
secrets); this one runs them all, reading every season text once.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from cadence.app.check_config import check_mail_sources, check_salespeople, check_video
from cadence.app.check_customers import check_customers, check_hours_meet
from cadence.app.check_local import check_local_files
from cadence.app.check_plan import check_plannable
from cadence.inputs.config import load_config
from cadence.inputs.customers import read_customers
from cadence.inputs.policy_load import load_policies
from cadence.values.errors import Problem, UserError
from cadence.values.progress import Tick, every
from cadence.values.seasons import SeasonParser


def check_all(
    config_path: Path | str, today: datetime, *, progress: Tick | None = None
) -> list[Problem]:
    """Every problem in cadence.toml, the policies and the customer file, at once
    (``progress`` is told how far reading and planning the customer file have got)."""
    try:
        config = load_config(config_path)
    except UserError as exc:
        return exc.problems or [Problem(message=exc.message)]
    problems: list[Problem] = []
    seasons = SeasonParser(config.date_reader())  # every season text read once, for all checks
    policies, policy_problems = load_policies(config.policies, config.date_reader())
    problems.extend(policy_problems)
    problems.extend(check_salespeople(config, policies, seasons))
    problems.extend(check_mail_sources(config))
    if policies is not None:
        problems.extend(check_video(config, policies))
    if config.customers is not None:
        try:
            imported = read_customers(
                config.customers,
                config.date_reader(),
                today=today.date(),
                default_timezone=policies.defaults.timezone if policies else None,
                progress=every(progress, "reading customers", None, 1000),
                seasons=seasons,
            )
        except UserError as exc:
            problems.extend(
                exc.problems or [Problem(file=str(config.customers), message=exc.message)]
            )
        else:
            problems.extend(r.as_problem(str(config.customers)) for r in imported.rejected)
            if policies is not None:
                found = check_customers(imported.customers, policies, config, seasons)
                problems.extend(found)
                said = {p.key for p in found if p.is_error}  # a customer's problem, once
                rest = [c for c in imported.customers if c.id not in said]
                problems.extend(check_plannable(rest, policies, config, today, progress, seasons))
                problems.extend(check_hours_meet(rest, policies, config, today))
    problems.extend(check_local_files(config, os.environ))
    return problems
