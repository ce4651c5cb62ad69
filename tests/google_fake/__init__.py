"""A fake Google (Calendar v3, Gmail v1, OAuth token endpoint) for the connector tests."""

from .person import Person
from .server import FakeGoogle

__all__ = ["FakeGoogle", "Person"]
