"""What every connector shares, written once.

* :mod:`.validation`: the checks of what a backend is handed (aware datetimes, an event's
  bounds, its owner, its time zone), raising :class:`connectors.base.InvalidValue`;
* :mod:`.days`: the local midnights that bound an all-day event in a salesperson's zone;
* :mod:`.codec`: one of cadence's events as the JSON a backend keeps in its state store;
* :mod:`.seen`: which past events a backend has returned before (the read marks of
  :meth:`connectors.base.CalendarBackend.new_past_events`);
* :mod:`.http`: the ``Retry-After`` parser and the one capped backoff (handing long waits back)
  of every connector that talks to a server, and the answers read ahead.

Modules here import only what lies below :mod:`connectors.base` (:mod:`cadence.values`,
:mod:`connectors.values`, :mod:`connectors.state`), so every connector, and
:mod:`connectors.base` itself, may use them.
"""
