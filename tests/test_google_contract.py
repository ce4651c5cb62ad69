"""The Google Calendar backend passes the shared backend contract against the fake Google."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cadence.values.model import Salesperson
from connectors.base import BackendContext, MemoryState
from connectors.google import GoogleBackend
from tests.contract.past_meetings import PastMeetingsContract
from tests.contract.suite import BackendContract
from tests.google_fake import FakeGoogle, Person
from tests.google_fake.keys import write_service_account_key

OWNER = "ana@example.com"
ZONE = "Europe/Lisbon"


@pytest.fixture
def fake() -> Iterator[FakeGoogle]:
    server = FakeGoogle().start()
    yield server
    server.stop()


@pytest.fixture
def key_file(fake: FakeGoogle, tmp_path: Path) -> Path:
    return write_service_account_key(fake, tmp_path / "service-account.json")


class TestGoogleContract(BackendContract, PastMeetingsContract):
    @pytest.fixture
    def owner(self) -> str:
        return OWNER

    @pytest.fixture
    def backend(self, fake, key_file, tmp_path, owner, other_owner) -> Iterator[GoogleBackend]:
        for user in (owner, other_owner):
            fake.add_user(user, ZONE)
        context = BackendContext(
            base_dir=tmp_path,
            salespeople=[
                Salesperson(owner, timezone=ZONE),
                Salesperson(other_owner, timezone=ZONE),
            ],
            state=MemoryState(),
            env={"STATE_DIRECTORY": str(tmp_path / "state")},
            sleep=lambda seconds: None,
        )
        config = {
            "service_account_file": key_file.name,
            "api_endpoint": fake.url,
            "token_uri": fake.token_uri,
        }
        backend = GoogleBackend(config, context)
        yield backend
        backend.close()

    @pytest.fixture
    def person(self, fake) -> Person:
        return Person(fake)
