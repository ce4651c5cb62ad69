"""The bottom layer: values and their parsers (durations, seasons, dates, working days, holidays,
zones, the domain model, bookings, errors). Imports nothing else from
cadence; connectors may import it."""
