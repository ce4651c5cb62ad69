"""The ``ics`` backend: one RFC 5545 file per salesperson, ``<folder>/<email>.ics``.

The embedded default. Each salesperson's calendar is a plain iCalendar file that any calendar
application can open or subscribe to; cadence's events in it carry a stable ``UID``, a
``SEQUENCE`` bumped on every change, ``X-CADENCE-UID`` (the ownership marker: cadence touches
only events where it equals the ``UID``) and one ``X-CADENCE-<TAG>`` property per tag.

What a person does to the file is respected: a moved ``DTSTART``/``DTEND`` is the event's new
time, a removed VEVENT is gone, ``STATUS:CANCELLED`` reads as cancelled and the owner's
``ATTENDEE;PARTSTAT=DECLINED`` as declined. Everything in the file that is not cadence's counts
as busy time (unless transparent, cancelled or declined), recurring events expanded, and so do
the events of ``busy_folder/<email>.ics`` (say, an export of another calendar).

Files are replaced atomically (temporary file in the same folder, fsync, :func:`os.replace`)
under an :func:`fcntl.flock` on ``.<email>.ics.lock``, so a reader never sees half a file and
two processes never interleave their read-modify-write. A file keeps its mode; a new one gets
``0o666`` less the process umask (systemd's ``UMask=0027``: ``0o640``).

**Broken input.** A file that is not an iCalendar file at all (not UTF-8, no VCALENDAR, a
broken structure) raises :class:`BackendError` and is never overwritten. One broken event does
not stop the rest of the file being read:

* one of cadence's events that cannot be read (a property icalendar rejects, a duplicated
  single-valued property such as ``SEQUENCE`` or ``DTSTART``, unreadable times, a UID held by
  two events) is listed by :meth:`IcsBackend.list_owned` with ``status="unreadable"``, its uid,
  its first start and end that parse (else both :data:`UNKNOWN_TIME`, 1970-01-01 UTC: use the
  times cadence recorded) and whatever else reads; it is logged once per version of the file,
  and :meth:`IcsBackend.write` never rewrites, deletes or re-creates it: an operation on its
  uid fails alone, with a :class:`BackendError` saying to fix it in the file;
* someone else's event whose times cannot be read is left out of busy time and contacts, with
  one warning; one with another broken property still counts as busy.

A file is rewritten only when every broken component in it comes out with exactly its lines
(unfolded, in any order) and the new file reads back with no new problem; else the whole write
fails, and the file is left as it is.

**Recurrence, within bounds.** Someone's recurring event is expanded within the bounds of
:mod:`connectors.recurrence` (shared with the CalDAV backend), one budget per file: a series
that repeats more often than hourly, or has too many steps up to the window's end, counts as
busy for its whole span in the window and gives no contacts; a rule that names no day that
exists (``BYMONTH=2;BYMONTHDAY=30``) counts once. Each of these is logged once per version of
the file, naming the file and the UID.

With ``invites = true`` every change is also e-mailed as iMIP (:mod:`connectors.email`): the
owner gets their own copy as ``PUBLISH`` (full notes, no attendees, so nothing asks them to
answer their own meeting; ``CANCEL`` when it is off), invited customers a ``REQUEST`` or
``CANCEL`` carrying the policy's ``customer_description`` and none of cadence's notes,
``X-`` properties or alarms. ``From`` is the organizer (the salesperson); ``[smtp] sender`` is
the envelope sender and the ``Sender`` header (RFC 6047: sent on the organizer's behalf by the
relay's own address). ``DTSTAMP`` is the time of sending. What the owner does to an invited
event in the file (moved, deleted, declined) reaches the customers too
(:meth:`IcsBackend.notify_attendees`, called by the cycle when it reads the file): a
``REQUEST`` with a higher ``SEQUENCE``, or a ``CANCEL``, once each, judged against what they
were last sent (kept in the state store). Invitations go through an outbox kept in the
backend's :class:`StateStore`: the calendar write succeeds even when the mail server is down,
and pending invitations are retried on the next :meth:`IcsBackend.write` or
:meth:`IcsBackend.list_owned`. One invitation that fails on its own (rejected for good, or
impossible to build) is set aside with a backoff and never holds up the others
(:meth:`IcsBackend.flush_invites`, :meth:`IcsBackend.held_invites`).

**Cost follows change.** A write renders cadence's events straight to the bytes icalendar
would write (:mod:`.render`, held to icalendar byte for byte by a property test) and keeps what
a read of the new file would find in the backend's state (:mod:`.known`), keyed by the file's
version: the next read of that version, in this process or the next, parses nothing. A file
someone else changed is parsed (once per version: :mod:`.cache`).

Modules: :mod:`.backend` (:class:`IcsBackend`, the contract), :mod:`.writing` (the write path),
:mod:`.parse` (reading a file, its broken components, the round-trip check), :mod:`.cache`
(parsed files kept while they stay the same), :mod:`.known` and :mod:`.written` (what a write
found in the file it wrote), :mod:`.events` (cadence's events as :class:`RemoteEvent`),
:mod:`.foreign` (the other events: busy time and past meetings), :mod:`.apply` (a batch of
operations in memory), :mod:`.draft` (the file being written, its VTIMEZONEs), :mod:`.build`
and :mod:`.render` (writing events as objects, and as bytes), :mod:`.serial` and :mod:`.lines`
(calendars and lines as bytes), :mod:`.files` (lock, atomic replacement, umask) and
:mod:`.outbox` (the invitation outbox).
"""

from datetime import datetime

from connectors.base import UNREADABLE
from connectors.ics.backend import IcsBackend
from connectors.ics.files import process_umask

__all__ = ["UNKNOWN_TIME", "UNREADABLE", "IcsBackend", "process_umask"]


def __getattr__(name: str) -> datetime:
    """``UNKNOWN_TIME``, from :mod:`.events` when asked for: that module imports icalendar,
    which a command reading only files as cadence wrote them does without."""
    if name == "UNKNOWN_TIME":
        from connectors.ics.events import UNKNOWN_TIME

        return UNKNOWN_TIME
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
