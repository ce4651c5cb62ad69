"""The ``outlook`` calendar backend: salespeople's Microsoft 365 calendars through Graph.

How each part of the contract is met:

* **Busy time** of one owner (:meth:`OutlookBackend.busy`) comes from
  ``/users/{owner}/calendarView``: only the event view can tell cadence's own events (which carry
  our extended property) from the salesperson's, and ``busy()`` must leave ours out. Events shown
  as ``free`` or ``workingElsewhere``, cancelled ones and ones the owner declined do not block
  time; all-day busy events (out of office) come back as whole local days with ``all_day=True``.
  :meth:`OutlookBackend.busy_many` answers for a whole team through ``getSchedule`` (20
  mailboxes and less than 62 days per request), taking our events out by matching (see
  :mod:`.schedule`).
* **Our events** are found by their ``cadence_owned`` extended property (a ``$filter`` query
  whose first page goes in one ``$batch`` with the first page of a new delta round: the *full
  read*; every read names the extended properties in ``$select`` as well as ``$expand``, and
  an event found without its uid is identified by its known Graph id or read again, see
  :meth:`OutlookBackend._full_read`); afterwards ``/users/{owner}/calendarView/delta`` reports
  what changed. The delta
  link, the delta window and what we know of our events are kept per owner in the
  :class:`StateStore`; when the server says the sync state is gone (410, ``SyncStateNotFound``,
  ``resyncRequired``) or the state is lost, the next call does a full read again. Delta answers
  carry no extended properties, so changes are matched to our events by Graph id; an event the
  delta reports ``@removed`` is looked up once, because leaving the delta window (moved far away)
  is reported the same way as a deletion.
* **Past meetings** (:meth:`OutlookBackend.new_past_events`) come from a second
  ``calendarView/delta`` stream whose window starts at the lookback floor (and reaches two years
  ahead, renewed by a full read after a year): an unchanged calendar costs one delta request
  whose answer is empty, and a meeting entered today for last month arrives in it, whatever its
  date. Meetings with other people in them are kept in the state until their time has passed
  (one booked ahead never changes when its day comes); which were reported is remembered by
  digest (:func:`connectors.base.unseen_past_events`), so each is reported once, and again only
  when moved or when its attendees or answers changed. cadence's own events are told apart by
  the Graph ids :meth:`list_owned` keeps (delta answers carry no extended properties).
* **Writes** go out as ``$batch`` requests of at most 20 parts (each mailbox's parts chained
  into at most 4 sequences, :func:`connectors.outlook.client._chained`). A create carries a
  ``transactionId`` derived from the booking uid, which Graph deduplicates on, and its uid is
  recorded as *pending* in the state before it is sent: if the answer is lost, the next write
  looks the uid up before creating again, so a lost response never makes a second event. The
  events updates and cancels go to are recorded as *unsure* before they are sent; an answer
  that leaves the outcome unknown (409, 412, 5xx) is settled at once by reading the event back
  (:meth:`OutlookBackend._read_back`), and when no answer came at all the next read reads the
  unsure events back whole (a delta answer would keep their old tags).
* **Reading ahead** (:meth:`OutlookBackend.read_ahead`): before the cycle reads its salespeople
  one by one, the first requests of each one's reads (cadence's events: a delta link or a full
  read's two first pages; past meetings: their delta link) go out for all of them in ``$batch``
  calls of 20 parts, and each read takes its answer as its first attempt
  (:meth:`connectors.outlook.client.GraphClient.read_ahead`): 20 mailboxes cost 2 or 3 requests
  instead of 40 to 60 (and their mail 1 instead of 20, :mod:`connectors.outlook.mail`).
* **Invitations.** When a spec has attendees, Graph (Exchange) sends the meeting invitations and,
  on cancellation through ``/cancel``, the cancellation notices itself. cadence must therefore
  never also send an iMIP invite by e-mail for an Outlook event.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from connectors.common.validation import require_aware
from connectors.outlook.busy import BusyTime
from connectors.outlook.client import BatchRequest
from connectors.outlook.core import connect
from connectors.outlook.meetings import PastMeetings
from connectors.outlook.writes import Writes


class OutlookBackend(Writes, BusyTime, PastMeetings):
    """Salespeople's calendars in Microsoft 365 / Exchange Online, through Microsoft Graph.

    Its parts, by concern: reading our events (:mod:`.owned`), past meetings (:mod:`.meetings`),
    busy time (:mod:`.busy`) and writes (:mod:`.writes`), on what they share (:mod:`.core`).
    """

    name = "outlook"
    write_batch = 20  # Graph's $batch limit
    batched_busy = True  # getSchedule: 20 mailboxes a request

    def read_ahead(self, owners: Sequence[str], start: datetime, end: datetime) -> None:
        """The first requests of :meth:`list_owned` and of :meth:`new_past_events` (``start``,
        ``end``) of every owner, in ``$batch`` calls of 20 parts (at most 4 a mailbox); each
        read then takes its answers as its first attempt. Never raises."""
        require_aware(start, "start")
        now = require_aware(end, "end")
        requests_: list[BatchRequest] = []
        for owner in owners:
            requests_ += self._owned_requests(owner, self._now())
            met = self._met_request(owner, start, now)
            if met is not None:
                requests_.append(met)
        self.graph.read_ahead(requests_)


__all__ = ["OutlookBackend", "connect"]
