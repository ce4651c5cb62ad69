"""Building connectors wired to a running :class:`FakeGoogle` (shared by the test modules)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cadence.values.model import Salesperson
from connectors.base import BackendContext, MemoryState

from .keys import write_service_account_key
from .server import FakeGoogle


class Sleeps(list[float]):
    """A ``sleep`` that records the delays instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def context_for(
    tmp_path: Path, owners: Sequence[str], zone: str = "UTC", sleeps: Sleeps | None = None
) -> BackendContext:
    """A context serving ``owners`` in ``zone`` with in-memory state and recorded sleeps; its
    state directory (where the token cache goes by default) is under ``tmp_path``."""
    return BackendContext(
        base_dir=tmp_path,
        salespeople=[Salesperson(o, timezone=zone) for o in owners],
        state=MemoryState(),
        sleep=sleeps if sleeps is not None else Sleeps(),
        env={"STATE_DIRECTORY": str(tmp_path / "state")},
    )


def service_account_config(fake: FakeGoogle, tmp_path: Path, **extra: Any) -> dict[str, Any]:
    """A ``[calendar.google]`` section using a service account trusted by ``fake``."""
    key = tmp_path / "service-account.json"
    if not key.exists():
        write_service_account_key(fake, key)
    return {
        "service_account_file": key.name,
        "api_endpoint": fake.url,
        "token_uri": fake.token_uri,
        **extra,
    }
