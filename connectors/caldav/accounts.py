"""Where each salesperson's CalDAV calendar is, and who to log in as there.

From ``[calendar.caldav]`` (:mod:`.settings`): an explicit URL per salesperson in ``calendars``,
a ``url`` template with ``{email}``/``{user}``, or discovery through the principal's
``calendar-home-set`` with the ``caldav`` library; the password from ``password_env`` or a
private ``password_file``. One HTTP :class:`~.webdav.Transport` serves every owner.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import caldav
import requests
from caldav.lib import error as caldav_error

from connectors.base import AuthError, BackendContext, BackendError, TransientError
from connectors.caldav.settings import DEFAULT_TIMEOUT, SCHEMA, fill_template
from connectors.caldav.webdav import Account, Collection, Transport
from connectors.localfiles import configured_password, configured_path


class Accounts:
    """Each owner's calendar collection and credentials, found once and kept."""

    def __init__(self, config: Mapping[str, Any], context: BackendContext) -> None:
        self.config = config
        self.context = context
        verify = config.get("verify_tls", SCHEMA.default("verify_tls"))
        if isinstance(verify, str):
            verify = str(self.path(verify))
        self.verify: bool | str = verify
        self.timeout = float(config.get("timeout", DEFAULT_TIMEOUT))
        self.http = Transport(timeout=self.timeout, verify=verify)
        self._collections: dict[str, Collection] = {}

    def path(self, text: str) -> Path:
        """A configured path: ``~`` expanded, a relative one taken from cadence.toml's folder."""
        return configured_path(text, self.context.base_dir)

    def credentials(self, owner: str) -> tuple[str, str] | None:
        """``owner``'s login (user name and password); None when ``username`` is not set."""
        username = self.config.get("username")
        if not username:
            return None
        password = configured_password(
            self.config,
            self.context.env,
            lambda template: self.path(fill_template(template, owner)),
            "caldav",
        )
        return fill_template(username, owner), password or ""

    def collection(self, owner: str) -> Collection:
        """The owner's calendar and credentials, discovering the calendar when needed."""
        key = owner.lower()
        if key in self._collections:
            return self._collections[key]
        auth = self.credentials(owner)
        calendars = {str(k).lower(): v for k, v in self.config.get("calendars", {}).items()}
        url = self.config.get("url", "")
        if key in calendars:
            calendar_url = calendars[key]
        elif "{" in url:
            calendar_url = fill_template(url, owner)
        else:
            calendar_url = self._discover(owner, auth)
        if not calendar_url.endswith("/"):
            calendar_url += "/"
        collection = Collection(self.http, Account(calendar_url=calendar_url, auth=auth))
        self._collections[key] = collection
        return collection

    def _discover(self, owner: str, auth: tuple[str, str] | None) -> str:
        """The first VEVENT calendar in the owner's calendar-home-set (caldav library)."""
        base = self.config.get("principal_url") or self.config.get("url")
        if not base:
            raise BackendError(f"caldav: no calendar configured for {owner}")
        base = fill_template(base, owner)
        client = caldav.DAVClient(
            url=base,
            auth=requests.auth.HTTPBasicAuth(*auth) if auth else None,
            timeout=int(self.timeout),
            ssl_verify_cert=self.verify,
        )
        try:
            if self.config.get("principal_url"):
                principal = client.principal(url=base)
            else:  # the server names the logged-in user's principal (current-user-principal)
                principal = client.principal()
            for calendar in principal.calendars():
                if "VEVENT" in calendar.get_supported_components():
                    return str(calendar.url)
        except caldav_error.AuthorizationError as exc:
            raise AuthError(f"caldav: {owner}: discovery at {base} refused: {exc}") from exc
        except requests.RequestException as exc:
            raise TransientError(f"caldav: {owner}: discovery at {base} failed: {exc}") from exc
        except OSError as exc:  # not a RequestException: e.g. no CA bundle at verify_tls
            raise BackendError(f"caldav: {owner}: discovery at {base} failed: {exc}") from exc
        except caldav_error.DAVError as exc:
            raise BackendError(f"caldav: {owner}: discovery at {base} failed: {exc}") from exc
        finally:
            client.close()
        raise BackendError(f"caldav: {owner}: no calendar for events under {base}")

    def close(self) -> None:
        """Close the HTTP session. Idempotent."""
        self.http.close()
