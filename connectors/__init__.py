"""Calendar and mail connectors behind one interface (:mod:`connectors.base`).

Backends are registered by name and imported lazily, so a connector's optional dependency is
only needed when that connector is configured.
"""

from __future__ import annotations

import importlib

from connectors.base import CalendarBackend, MailSource

# name -> "module:Class"
CALENDAR_BACKENDS: dict[str, str] = {
    "memory": "connectors.memory:MemoryBackend",
    "ics": "connectors.ics:IcsBackend",
    "google": "connectors.google:GoogleBackend",
    "outlook": "connectors.outlook:OutlookBackend",
    "caldav": "connectors.caldav:CalDavBackend",
}
MAIL_SOURCES: dict[str, str] = {
    "google": "connectors.google:GmailSource",
    "outlook": "connectors.outlook:GraphMailSource",
    "imap": "connectors.imap:ImapSource",
}


def _load(registry: dict[str, str], name: str, what: str) -> type:
    try:
        target = registry[name]
    except KeyError:
        known = ", ".join(sorted(registry))
        raise LookupError(f"unknown {what} {name!r} (known: {known})") from None
    module_name, _, cls_name = target.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, cls_name)


def load_backend(name: str) -> type[CalendarBackend]:
    """The calendar backend class registered as ``name`` (imported on first use)."""
    return _load(CALENDAR_BACKENDS, name, "calendar backend")


def load_mail_source(name: str) -> type[MailSource]:
    """The mail source class registered as ``name`` (imported on first use)."""
    return _load(MAIL_SOURCES, name, "mail source")
