"""Google Workspace connector: Google Calendar (:class:`GoogleBackend`) and Gmail
(:class:`GmailSource`), both configured by the ``[calendar.google]`` section.

Setup (Google Cloud project, service account, domain-wide delegation or per-user OAuth tokens):
``docs/google.md``. ``run_oauth_flow`` is what ``cadence auth google EMAIL`` runs.
"""

from connectors.google.auth import SCOPES, run_oauth_flow
from connectors.google.calendar import GoogleBackend
from connectors.google.gmail import GmailSource

__all__ = ["SCOPES", "GmailSource", "GoogleBackend", "run_oauth_flow"]
