"""The outlook backend passes the shared backend contract against the fake Graph server."""

from tests.contract.past_meetings import PastMeetingsContract
from tests.contract.suite import BackendContract
from tests.graph_fake.fixtures import *  # noqa: F403


class TestOutlookContract(BackendContract, PastMeetingsContract):
    """Every contract test, with ``person`` acting through the fake server as Outlook would."""
