"""The CalDAV protocol cadence speaks to one calendar collection, over ``requests``.

Request bodies are built with ``caldav.elements``; requests go through ``requests`` directly
because caldav 1.x's ``DAVClient.request`` turns every 403 into ``AuthorizationError``, so a
refused sync token (403 ``valid-sync-token``) would look like bad credentials and the
precondition named in the body would be lost. HTTP failures become the backend exceptions of
:mod:`connectors.base` here, in one place.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit

import requests
from caldav.elements import cdav, dav
from lxml import etree

from connectors.base import AuthError, BackendError, TransientError
from connectors.common.http import parse_retry_after

_NS = {"d": "DAV:", "c": "urn:ietf:params:xml:ns:caldav"}
_XML = {"Content-Type": "application/xml; charset=utf-8"}
MAX_SYNC_PAGES = 100  # a server may page a big change set (RFC 6578 3.6: 507 on the collection)


class SyncTokenRefused(BackendError):
    """The server no longer accepts the stored sync token: read the calendar in full."""


class SyncUnsupported(BackendError):
    """The collection does not support the sync-collection REPORT."""


@dataclass(frozen=True, slots=True)
class Resource:
    """One calendar object resource as read from the server."""

    href: str  # absolute URL
    etag: str | None
    data: bytes | None  # None: deleted (a 404 in a sync report)


@dataclass(frozen=True, slots=True)
class Account:
    """Where one salesperson's calendar is and how to authenticate there."""

    calendar_url: str
    auth: tuple[str, str] | None


class Transport:
    """``requests`` sessions for a backend, one per thread (the cycle serves salespeople side
    by side, and a ``requests.Session`` is not meant to be shared between threads); HTTP errors
    mapped to the backend exceptions."""

    def __init__(self, *, timeout: float, verify: bool | str) -> None:
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()
        self.timeout = timeout
        self.verify = verify

    @property
    def session(self) -> requests.Session:
        """The calling thread's session (made on first use)."""
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.headers["User-Agent"] = "cadence-caldav"
            with self._lock:
                self._sessions.append(session)
        return session

    def send(
        self,
        method: str,
        url: str,
        account: Account,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        ok: Iterable[int] = (200, 201, 204, 207),
    ) -> requests.Response:
        """Send one request; statuses in ``ok`` are returned, others raised as backend errors.

        401 -> AuthError; 408/429/5xx and network trouble -> TransientError; the rest (403, 404,
        412...) -> BackendError unless the caller lists them in ``ok`` to handle them itself.
        """
        try:
            response = self.session.request(
                method,
                url,
                data=body,
                headers=dict(headers or {}),
                auth=account.auth,
                timeout=self.timeout,
                verify=self.verify,
                allow_redirects=True,
            )
        except requests.Timeout as exc:
            raise TransientError(f"{method} {url}: timed out ({exc})") from exc
        except requests.ConnectionError as exc:
            raise TransientError(f"{method} {url}: cannot connect ({exc})") from exc
        except requests.RequestException as exc:
            raise BackendError(f"{method} {url}: {exc}") from exc
        except OSError as exc:  # not a RequestException: e.g. no CA bundle at verify_tls
            raise BackendError(f"{method} {url}: {exc}") from exc
        status = response.status_code
        if status in set(ok):
            return response
        if status == 401:
            raise AuthError(f"{method} {url}: the server refused the credentials (401)")
        if status in (408, 429) or status >= 500:
            raise TransientError(
                f"{method} {url}: {status} {response.reason}", retry_after=_retry_after(response)
            )
        raise BackendError(f"{method} {url}: {status} {response.reason}")

    def close(self) -> None:
        """Close every session's connections. Idempotent."""
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()
        self._local = threading.local()


class Collection:
    """One calendar collection: the reads and conditional writes cadence makes there."""

    def __init__(self, transport: Transport, account: Account) -> None:
        self.transport = transport
        self.account = account
        self.url = account.calendar_url

    def href(self, name: str) -> str:
        """The absolute URL of the member resource ``name``."""
        return urljoin(self.url, quote(name))

    # -- reads -------------------------------------------------------------------------------

    def query(
        self, start: datetime | None, end: datetime | None, *, marker: str = ""
    ) -> list[Resource]:
        """calendar-query: VEVENTs overlapping ``[start, end)`` and/or having ``marker``."""
        event_filter = cdav.CompFilter("VEVENT")
        if start is not None and end is not None:
            _node(event_filter, cdav.TimeRange(start.astimezone(UTC), end.astimezone(UTC)))
        if marker:
            _node(event_filter, cdav.PropFilter(marker))
        query = _node(
            cdav.CalendarQuery(),
            _etag_and_data(),
            _node(cdav.Filter(), _node(cdav.CompFilter("VCALENDAR"), event_filter)),
        )
        return self._report_resources(query)

    def multiget(self, hrefs: Sequence[str]) -> list[Resource]:
        """calendar-multiget: the named resources with their data and etags."""
        if not hrefs:
            return []
        query = _node(
            cdav.CalendarMultiGet(),
            _etag_and_data(),
            *(dav.Href(value=urlsplit(h).path) for h in hrefs),
        )
        return self._report_resources(query)

    def _report_resources(self, query: Any) -> list[Resource]:
        response = self.transport.send(
            "REPORT", self.url, self.account, body=_xml(query), headers={"Depth": "1", **_XML}
        )
        return [
            Resource(href, props.get("getetag"), props["calendar-data"].encode())
            for href, status, props in _responses(_multistatus(response), response.url)
            if status == 200 and props.get("calendar-data")
        ]

    def sync(self, token: str) -> tuple[str, list[Resource]]:
        """sync-collection (RFC 6578): the new token and what changed or was deleted since
        ``token`` (everything when ``token`` is empty).

        Raises SyncTokenRefused (403/409 ``valid-sync-token``, or any 403/409 on a non-empty
        token) and SyncUnsupported (the server has no sync-collection on this collection).
        """
        changes: dict[str, Resource] = {}
        missing_data: list[str] = []
        for _ in range(MAX_SYNC_PAGES):
            report = _node(
                dav.SyncCollection(),
                dav.SyncToken(value=token) if token else dav.SyncToken(),
                dav.SyncLevel(value="1"),
                _etag_and_data(),
            )
            response = self.transport.send(
                "REPORT",
                self.url,
                self.account,
                body=_xml(report),
                headers={"Depth": "0", **_XML},
                ok=(207, 400, 403, 409, 501),
            )
            if response.status_code != 207:
                if _precondition(response) == "valid-sync-token" or (
                    token and response.status_code in (403, 409)
                ):
                    raise SyncTokenRefused(f"{self.url}: sync token refused")
                raise SyncUnsupported(
                    f"{self.url}: sync-collection refused ({response.status_code})"
                )
            root = _multistatus(response)
            truncated = False
            for href, status, props in _responses(root, response.url):
                if _same_resource(href, self.url):
                    truncated = truncated or status == 507
                elif status in (404, 410):
                    changes[href] = Resource(href, None, None)
                elif props.get("calendar-data"):
                    changes[href] = Resource(
                        href, props.get("getetag"), props["calendar-data"].encode()
                    )
                else:
                    missing_data.append(href)
            token = (root.findtext("d:sync-token", "", _NS) or "").strip()
            if not truncated:
                break
        # Some servers answer a sync report with etags only: fetch the bodies in one multiget.
        for resource in self.multiget([h for h in missing_data if h not in changes]):
            changes[resource.href] = resource
        return token, list(changes.values())

    def etags(self) -> dict[str, str]:
        """PROPFIND (Depth 1): the etag of every member resource, by absolute href; how a
        server without sync-collection shows what changed."""
        body = _xml(_node(dav.Propfind(), _node(dav.Prop(), dav.GetEtag())))
        response = self.transport.send(
            "PROPFIND", self.url, self.account, body=body, headers={"Depth": "1", **_XML}
        )
        return {
            href: props.get("getetag") or ""
            for href, status, props in _responses(_multistatus(response), response.url)
            if status == 200 and not _same_resource(href, self.url)
        }

    def get(self, href: str) -> Resource | None:
        """The resource at ``href`` with its etag, or None when it is gone (404/410)."""
        response = self.transport.send(
            "GET", href, self.account, headers={"Accept": "text/calendar"}, ok=(200, 404, 410)
        )
        if response.status_code != 200:
            return None
        return Resource(href, response.headers.get("ETag"), response.content)

    # -- conditional writes ------------------------------------------------------------------

    def put(self, href: str, body: bytes, condition: Mapping[str, str]) -> tuple[bool, str | None]:
        """PUT under ``condition`` (``If-Match`` / ``If-None-Match``).

        Returns ``(False, None)`` when the precondition failed (412), else ``(True, etag)``
        with the new strong etag when the server sent one.
        """
        response = self.transport.send(
            "PUT",
            href,
            self.account,
            body=body,
            headers={"Content-Type": "text/calendar; charset=utf-8", **condition},
            ok=(200, 201, 204, 412),
        )
        if response.status_code == 412:
            return False, None
        etag = response.headers.get("ETag")
        return True, None if etag is None or etag.startswith("W/") else etag

    def delete(self, href: str, etag: str | None) -> bool:
        """DELETE, only if unchanged when ``etag`` is given. False when it changed (412);
        True when deleted or already gone (404/410)."""
        headers = {"If-Match": etag} if etag else {}
        response = self.transport.send(
            "DELETE", href, self.account, headers=headers, ok=(200, 204, 404, 410, 412)
        )
        return response.status_code != 412


# --------------------------------------------------------------------------------------------
# XML


def _node(parent: Any, *children: Any) -> Any:
    """``parent`` with ``children`` appended (caldav.elements, typed loosely by the library)."""
    for child in children:
        parent.append(child)
    return parent


def _etag_and_data() -> Any:
    return _node(dav.Prop(), dav.GetEtag(), cdav.CalendarData())


def _xml(element: Any) -> bytes:
    return etree.tostring(element.xmlelement(), encoding="utf-8", xml_declaration=True)


def _retry_after(response: requests.Response) -> float | None:
    return parse_retry_after(response.headers.get("Retry-After"))


def _precondition(response: requests.Response) -> str:
    """The DAV precondition named in an error body (``valid-sync-token``), or ``""``."""
    try:
        root = etree.fromstring(response.content)
    except etree.XMLSyntaxError:
        return ""
    for child in root if root.tag == "{DAV:}error" else ():
        return etree.QName(child).localname
    return ""


def _multistatus(response: requests.Response) -> etree._Element:
    try:
        return etree.fromstring(response.content)
    except etree.XMLSyntaxError as exc:
        raise BackendError(f"{response.url}: the server sent malformed XML ({exc})") from exc


def _responses(root: etree._Element, base_url: str) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """``(absolute href, status, {prop localname: text})`` per ``<d:response>``."""
    for response in root.iterfind("d:response", _NS):
        href = urljoin(base_url, (response.findtext("d:href", "", _NS) or "").strip())
        status_text = response.findtext("d:status", None, _NS)
        props: dict[str, Any] = {}
        status = _status_code(status_text) if status_text else 200
        for propstat in response.iterfind("d:propstat", _NS):
            if _status_code(propstat.findtext("d:status", "", _NS)) != 200:
                continue
            for prop in propstat.iterfind("d:prop/*", _NS):
                props[etree.QName(prop).localname] = prop.text
        yield href, status, props


def _status_code(text: str) -> int:
    match = re.search(r"\s(\d{3})(\s|$)", text or "")
    return int(match.group(1)) if match else 0


def _same_resource(a: str, b: str) -> bool:
    return unquote(urlsplit(a).path).rstrip("/") == unquote(urlsplit(b).path).rstrip("/")
