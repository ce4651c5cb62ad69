"""A local HTTP server speaking the Google Calendar v3, Gmail v1 and OAuth token wire formats.

Started by tests on 127.0.0.1 (random port). It routes by the discovery documents, checks every
request (bearer token, parameters, body schema), answers like Google (JSON error bodies, 204 on
delete, multipart/mixed batch answers), and can be told to fail: ``fail(kind, ...)`` answers an
error instead of running a call (``fail_after_applying``: after running it); ``drop(kind)``
runs the call and then closes the connection without answering (a lost response);
``stall(kind)`` holds calls unanswered until released (a server that hangs). ``requests``
counts HTTP requests by kind (the method id, ``batch/calendar/v3``, ``token``); ``calls`` counts
API calls including those inside batches.
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import json
import socket
import threading
import urllib.parse
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import google.auth.jwt

from . import discovery
from .calendar_api import Calendar, CalendarApi
from .discovery import ApiError, bad_request
from .gmail_api import GmailApi, Mailbox

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# google-auth always signs service-account grants for Google's token endpoint, whatever
# token_uri the request goes to; Google checks exactly this audience.
JWT_AUDIENCE = "https://oauth2.googleapis.com/token"
APIS = (("calendar", "v3"), ("gmail", "v1"))


@dataclass
class Fault:
    """Misbehaviour for the next ``times`` calls of ``kind`` (a method id, ``batch`` or
    ``token``; ``*`` for any API call)."""

    kind: str
    times: int = 1
    status: int = 500
    reason: str = "backendError"
    retry_after: str | None = None
    drop: bool = False
    user: str | None = None
    applied: bool = False  # run the call first, then answer the error (a 5xx after applying)


@dataclass
class Stall:
    """Calls of ``kind`` (``*``: any API call) by ``user`` (None: anyone) hang until
    ``release`` is set; ``reached`` is set when the first one arrives."""

    kind: str
    user: str | None = None
    release: threading.Event = field(default_factory=threading.Event)
    reached: threading.Event = field(default_factory=threading.Event)
    held: int = 0  # calls that hung here


STALL_LIMIT = 600.0  # a stalled call answers after this long at the latest


@dataclass
class _Answer:
    status: int
    body: bytes = b""
    headers: dict[str, str] | None = None


class FakeGoogle:
    """The fake Google: state, token endpoint, API dispatch, faults and request counts."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.calendar = CalendarApi()
        self.gmail = GmailApi()
        self.requests: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self.bytes_sent = 0  # response bodies, for measuring what a cycle reads
        self.faults: list[Fault] = []
        self.stalls: list[Stall] = []
        self.log: list[tuple[str, dict[str, Any]]] = []  # (method id, parameters) of each call
        self.service_accounts: dict[str, str] = {}  # client_email -> public key PEM
        self.refresh_tokens: dict[str, str] = {}  # refresh token -> user
        self.client_secrets: dict[str, str] = {}  # client id -> secret
        self.access_tokens: dict[str, str] = {}  # access token -> user
        self.revoked: set[str] = set()
        self._tokens = itertools.count(1)
        self._httpd: ThreadingHTTPServer | None = None
        self.url = ""
        self._handlers: dict[str, Callable[..., Any]] = {
            "calendar.events.insert": self.calendar.insert,
            "calendar.events.get": self.calendar.get,
            "calendar.events.update": self.calendar.update,
            "calendar.events.patch": self.calendar.patch,
            "calendar.events.delete": self.calendar.delete,
            "calendar.events.list": self.calendar.list,
            "calendar.freebusy.query": self.calendar.freebusy,
            "gmail.users.getProfile": self.gmail.profile,
            "gmail.users.messages.list": self.gmail.list,
            "gmail.users.messages.get": self.gmail.get,
            "gmail.users.history.list": self.gmail.history,
        }

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeGoogle:
        """Listen on 127.0.0.1 (a free port) in a background thread."""
        fake = self

        class Handler(_Handler):
            server_state = fake

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/"
        threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        """Stop listening (stalled calls are released first)."""
        for stall in self.stalls:
            stall.release.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    @property
    def token_uri(self) -> str:
        """The OAuth token endpoint."""
        return self.url + "token"

    @property
    def http_requests(self) -> int:
        """HTTP requests received so far (batch requests count once)."""
        return sum(self.requests.values())

    def reset_counts(self) -> None:
        """Forget the request counts."""
        with self.lock:
            self.requests.clear()
            self.calls.clear()
            self.log.clear()
            self.bytes_sent = 0

    # -- setting up users and faults ---------------------------------------------------------

    def add_user(self, email: str, zone: str = "UTC") -> None:
        """A Workspace user with an empty calendar and mailbox."""
        email = email.lower()
        with self.lock:
            self.calendar.calendars[email] = Calendar(email, zone)
            self.gmail.mailboxes[email] = Mailbox(email)

    def add_calendar(self, owner: str, calendar_id: str) -> None:
        """A secondary calendar of ``owner`` (the primary one is made by :meth:`add_user`)."""
        with self.lock:
            primary = self.calendar.calendars[owner.lower()]
            self.calendar.calendars[calendar_id.lower()] = Calendar(owner.lower(), primary.zone)

    def add_service_account(self, client_email: str, public_key_pem: str) -> None:
        """Trust JWT grants signed by this service account's key."""
        self.service_accounts[client_email] = public_key_pem

    def add_refresh_token(self, user: str, refresh_token: str, client_id: str, secret: str) -> None:
        """A refresh token granted by ``user`` to the OAuth client ``client_id``."""
        self.refresh_tokens[refresh_token] = user.lower()
        self.client_secrets[client_id] = secret

    def revoke(self, user: str) -> None:
        """Revoke every grant of ``user``: access tokens stop working, refreshing fails."""
        with self.lock:
            self.revoked.add(user.lower())
            for token, owner in list(self.access_tokens.items()):
                if owner == user.lower():
                    del self.access_tokens[token]

    def fail(
        self,
        kind: str,
        times: int = 1,
        status: int = 500,
        reason: str = "backendError",
        retry_after: str | None = None,
        user: str | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``kind`` with an error."""
        self.faults.append(Fault(kind, times, status, reason, retry_after, False, user))

    def fail_after_applying(self, kind: str, times: int = 1, status: int = 503) -> None:
        """Run the next ``times`` calls of ``kind``, then answer ``status`` as if they failed."""
        self.faults.append(Fault(kind, times, status, applied=True))

    def drop(self, kind: str, times: int = 1) -> None:
        """Run the next ``times`` calls of ``kind``, then close the connection unanswered."""
        self.faults.append(Fault(kind, times, drop=True))

    def stall(self, kind: str, user: str | None = None) -> Stall:
        """Hold calls of ``kind`` (by ``user``) unanswered until the stall is released."""
        stall = Stall(kind, user.lower() if user else None)
        self.stalls.append(stall)
        return stall

    def _hang(self, kind: str, user: str) -> None:
        for stall in list(self.stalls):
            if stall.kind in (kind, "*") and stall.user in (None, user):
                if stall.release.is_set():
                    continue
                with self.lock:
                    stall.held += 1
                stall.reached.set()
                stall.release.wait(STALL_LIMIT)

    def _fault(
        self, kind: str, user: str | None, drop: bool, applied: bool = False
    ) -> Fault | None:
        """The first armed fault for this call, used up by one (None when there is none)."""
        is_api_call = kind not in ("token", "batch")
        with self.lock:
            for fault in self.faults:
                applies = fault.kind == kind or (fault.kind == "*" and is_api_call)
                if (
                    applies
                    and fault.drop == drop
                    and fault.applied == applied
                    and fault.times > 0
                    and fault.user in (None, user)
                ):
                    fault.times -= 1
                    return fault
        return None

    # -- token endpoint ----------------------------------------------------------------------

    def token(self, form: dict[str, str]) -> _Answer:
        """The OAuth 2.0 token endpoint: JWT-bearer (service account) and refresh-token grants."""
        grant = form.get("grant_type")
        user: str | None = None
        if grant == JWT_GRANT:
            try:
                header = google.auth.jwt.decode_header(form["assertion"])
                claims = google.auth.jwt.decode(form["assertion"], verify=False)
                key = self.service_accounts[claims["iss"]]
                google.auth.jwt.decode(form["assertion"], certs=key, audience=JWT_AUDIENCE)
            except (KeyError, ValueError) as error:
                return _oauth_error("invalid_grant", f"Invalid JWT: {error}")
            if header.get("alg") != "RS256":
                return _oauth_error("invalid_grant", "Invalid JWT algorithm")
            user = str(claims.get("sub", "")).lower()
            if user not in self.calendar.calendars:
                return _oauth_error("invalid_grant", "Invalid email or User ID")
        elif grant == "refresh_token":
            if self.client_secrets.get(form.get("client_id", "")) != form.get("client_secret"):
                return _oauth_error("invalid_client", "The OAuth client was not found.", 401)
            user = self.refresh_tokens.get(form.get("refresh_token", ""))
            if user is None:
                return _oauth_error("invalid_grant", "Bad Request")
        else:
            return _oauth_error("unsupported_grant_type", f"Invalid grant_type: {grant}")
        if user in self.revoked:
            return _oauth_error("invalid_grant", "Token has been expired or revoked.")
        access = f"ya29.fake-{next(self._tokens)}"
        with self.lock:
            self.access_tokens[access] = user
        body = {"access_token": access, "expires_in": 3599, "token_type": "Bearer"}
        return _Answer(200, json.dumps(body).encode(), {"Content-Type": "application/json"})

    # -- API calls ---------------------------------------------------------------------------

    def call(
        self, method: str, target: str, headers: dict[str, str], body: bytes, counted: bool
    ) -> tuple[_Answer, bool]:
        """Run one API request; the answer, and whether the connection must be dropped."""
        parsed = urllib.parse.urlsplit(target)
        found = _route(method, parsed.path)
        if found is None:
            return _error(
                ApiError(404, "notFound", f"No such method: {method} {parsed.path}")
            ), False
        api, version, spec, path_params = found
        kind = spec.id
        if counted:
            self.requests[kind] += 1
        self.calls[kind] += 1
        user = self._user(headers)
        if user is None:
            return _error(
                ApiError(401, "authError", "Request had invalid authentication credentials.")
            ), False
        self._hang(kind, user)
        fault = self._fault(kind, user, drop=False)
        if fault is not None:
            extra = {"Retry-After": fault.retry_after} if fault.retry_after else None
            return _error(
                ApiError(
                    fault.status,
                    fault.reason,
                    "Injected fault",
                    domain="usageLimits",
                    headers=extra,
                )
            ), False
        try:
            params = discovery.check_parameters(spec, urllib.parse.parse_qs(parsed.query))
            params.update(path_params)
            self.log.append((kind, params))
            payload = json.loads(body) if body.strip() else None
            discovery.validate_body(api, version, spec, payload)
            handler = self._handlers.get(kind)
            if handler is None:
                raise ApiError(501, "notImplemented", f"{kind} is not faked")
            with self.lock:
                if kind == "calendar.events.update":
                    result = handler(user, params, payload, headers.get("if-match"))
                else:
                    result = handler(user, params, payload)
        except ApiError as error:
            answer = _error(error)
        except (ValueError, KeyError) as error:
            answer = _error(bad_request(f"Bad request: {error}"))
        else:
            answer = (
                _Answer(204)
                if result is None
                else _Answer(
                    200,
                    json.dumps(result).encode(),
                    {"Content-Type": "application/json; charset=UTF-8"},
                )
            )
            after = self._fault(kind, user, drop=False, applied=True)
            if after is not None:  # applied, but the client is told it failed
                answer = _error(ApiError(after.status, after.reason, "Injected fault after apply"))
        return answer, self._fault(kind, user, drop=True) is not None

    def batch(self, headers: dict[str, str], body: bytes) -> tuple[_Answer, bool]:
        """A multipart/mixed batch: each part is an ``application/http`` request."""
        if self._user(headers) is None:
            return _error(ApiError(401, "authError", "Invalid Credentials")), False
        fault = self._fault("batch", None, drop=False)
        if fault is not None:
            extra = {"Retry-After": fault.retry_after} if fault.retry_after else None
            return _error(
                ApiError(fault.status, fault.reason, "Injected fault", headers=extra)
            ), False
        raw = b"Content-Type: " + headers.get("content-type", "").encode() + b"\r\n\r\n" + body
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
        if not message.is_multipart():
            return _error(bad_request("batch body is not multipart/mixed")), False
        boundary = f"batch_{uuid.uuid4().hex}"
        out: list[str] = []
        dropped = False
        for part in message.iter_parts():
            content_id = part.get("Content-ID", "")
            payload = part.get_payload(decode=True) or b""
            method, target, part_headers, part_body = _parse_http(payload)
            answer, drop = self.call(method, target, part_headers, part_body, counted=False)
            dropped = dropped or drop
            response_id = content_id.replace("<", "<response-", 1)
            head = [f"HTTP/1.1 {answer.status} {_REASONS.get(answer.status, 'Error')}"]
            head += [f"{k}: {v}" for k, v in (answer.headers or {}).items()]
            head.append(f"Content-Length: {len(answer.body)}")
            out.append(
                f"--{boundary}\r\nContent-Type: application/http\r\n"
                f"Content-ID: {response_id}\r\n\r\n"
                + "\r\n".join(head)
                + "\r\n\r\n"
                + answer.body.decode("utf-8")
                + "\r\n"
            )
        out.append(f"--{boundary}--\r\n")
        content = "".join(out).encode("utf-8")
        return _Answer(200, content, {"Content-Type": f"multipart/mixed; boundary={boundary}"}), (
            dropped or self._fault("batch", None, drop=True) is not None
        )

    def _user(self, headers: dict[str, str]) -> str | None:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        with self.lock:
            return self.access_tokens.get(token)


_REASONS = {
    200: "OK",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    410: "Gone",
    412: "Precondition Failed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
}


def _route(method: str, path: str) -> tuple[str, str, discovery.Method, dict[str, str]] | None:
    for api, version in APIS:
        for spec in discovery.methods(api, version):
            if spec.http_method != method:
                continue
            match = spec.pattern.match(path)
            if match:
                values = {k: urllib.parse.unquote(v) for k, v in match.groupdict().items()}
                return api, version, spec, values
    return None


def _parse_http(payload: bytes) -> tuple[str, str, dict[str, str], bytes]:
    text = payload.decode("utf-8").replace("\r\n", "\n")
    head, _, body = text.partition("\n\n")
    lines = head.split("\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return method, target, headers, body.encode("utf-8")


def _error(error: ApiError) -> _Answer:
    headers = {"Content-Type": "application/json; charset=UTF-8", **error.headers}
    return _Answer(error.status, json.dumps(error.body()).encode(), headers)


def _oauth_error(code: str, description: str, status: int = 400) -> _Answer:
    body = {"error": code, "error_description": description}
    return _Answer(status, json.dumps(body).encode(), {"Content-Type": "application/json"})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Google does
    server_state: FakeGoogle

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle's algorithm and
        # delayed ACKs add ~40 ms to every keep-alive request.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        fake = self.server_state
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        path = urllib.parse.urlsplit(self.path).path
        dropped = False
        if path == "/token" and self.command == "POST":
            fake.requests["token"] += 1
            fault = fake._fault("token", None, drop=False)
            form = dict(urllib.parse.parse_qsl(body.decode()))
            answer = (
                _error(ApiError(fault.status, fault.reason, "Injected fault"))
                if fault
                else fake.token(form)
            )
        elif path.startswith("/batch/") and self.command == "POST":
            fake.requests[path.lstrip("/")] += 1
            answer, dropped = fake.batch(headers, body)
        else:
            answer, dropped = fake.call(self.command, self.path, headers, body, counted=True)
        if dropped:
            self.close_connection = True
            return
        self.send_response(answer.status)
        for name, value in (answer.headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        try:
            self.wfile.write(answer.body)
        except (BrokenPipeError, ConnectionResetError):
            return  # the client gave up on the call (a stopped cycle): nothing to report
        with fake.lock:
            fake.bytes_sent += len(answer.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve
