"""Microsoft 365 / Outlook through Microsoft Graph: the ``outlook`` calendar backend and mail
source.

Modules: :mod:`.settings` (the ``[calendar.outlook]`` keys), :mod:`.auth` (msal client
credentials and the token cache), :mod:`.client` (HTTP, retries, ``$batch``), :mod:`.wire`
(Graph's event format and cadence's tags), :mod:`.calendar` (:class:`OutlookBackend`) and
:mod:`.mail` (:class:`GraphMailSource`). Setting up the app registration: ``docs/outlook.md``.
"""

from connectors.outlook.calendar import OutlookBackend
from connectors.outlook.mail import GraphMailSource

__all__ = ["GraphMailSource", "OutlookBackend"]
