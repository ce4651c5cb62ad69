"""Persistence: the tables (declared as sqlmodel classes) and migrations, the `Store`
repository (SQLite or PostgreSQL), snoozes kept in its key/value state, and leases dividing
salespeople between daemons."""
