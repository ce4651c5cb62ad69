"""The ``caldav`` backend: salespeople's calendars on any CalDAV server (RFC 4791).

Fastmail, iCloud, Nextcloud, SOGo, Zimbra, Radicale... Each salesperson's calendar is found from
``[calendar.caldav]``: an explicit URL in ``calendars``, a ``url`` template with ``{email}`` /
``{user}``, or discovery through the principal's ``calendar-home-set``.

How the contract is kept, and which part of which library does it:

Modules: :mod:`.settings` (the config keys and their checks), :mod:`.accounts` (each
salesperson's calendar and credentials), :mod:`.ical` (bookings as iCalendar resources and
back), :mod:`.webdav` (the protocol, over ``requests``), :mod:`.owned` (cadence's events followed
with sync-collection), :mod:`.occurrences` (busy time and meetings, recurrences expanded),
:mod:`.meetings` (the resources with meetings followed for contacts), :mod:`.invites` (the
iMIP invitations of ``invites = true``) and :mod:`.backend` (:class:`CalDavBackend`, the
contract).

* **Discovery** uses the ``caldav`` library (1.x: version 2 replaces ``urllib3`` for the whole
  environment and breaks google-auth and msal): ``DAVClient.principal()`` and
  ``Principal.calendars()``. Request bodies are built with ``caldav.elements``.
* **Conditional writes, sync-collection and queries** go through ``requests`` (the HTTP library
  caldav 1.x is built on) directly, because caldav 1.x's ``DAVClient.request`` turns every 403
  into ``AuthorizationError``: a refused sync token (403 ``valid-sync-token``) would look like bad
  credentials, and the body naming the precondition is lost.
* Events are PUT at a resource name derived from the uid, with ``If-None-Match: *`` on create
  (a 412 on a retried create means it exists: read it and bring it to the spec, never a second
  event) and ``If-Match: <etag>`` on update and delete (a 412 means a person changed it:
  :class:`ConflictError`, nothing overwritten).
* :meth:`CalDavBackend.list_owned` reads incrementally with a ``sync-collection`` REPORT; the
  token and the owned events seen so far live in the :class:`StateStore`. A refused token means
  a full re-read. A server without sync-collection gets a ``calendar-query`` for events carrying
  ``X-CADENCE-UID``.
* :meth:`CalDavBackend.busy` sends a time-range ``calendar-query`` and expands recurrences
  within the bounds of :mod:`connectors.recurrence`, as the ics backend does: a person's
  ``FREQ=SECONDLY`` event is busy for its whole span, never expanded, and gives no contacts.
  Not a ``free-busy-query``: its merged periods cannot tell cadence's own events (which must be
  left out) from a person's, nor all-day from timed busy time.
* ``invites = true`` (servers without RFC 6638 scheduling only): cadence mails invited
  customers iMIP messages itself through the .ics backend's outbox
  (:mod:`connectors.ics.outbox`, state keys ``caldav.outbox:`` / ``caldav.mailed:``, no copy
  to the owner): a ``REQUEST`` queued before each PUT of an event with customers, a ``CANCEL``
  before each DELETE of one they were sent, both taken back when the write fails; the owner's
  own moves, deletes and declines through :meth:`CalDavBackend.notify_attendees`. The
  resource keeps the customer's text in ``DESCRIPTION``: :func:`.ical.outbox_form` turns it
  into the .ics form the outbox expects, so the customer is sent their text, not the notes.
"""

from connectors.caldav.backend import CalDavBackend

__all__ = ["CalDavBackend"]
