"""The cycle: contacts read from calendars and mail, plan vs bookings into actions (reconcile,
decide), actions applied to calendars, and the workspace that wires config, store and connectors."""
