"""cadence: keeps every customer in a steady, deliberate contact rhythm."""

__version__ = "0.1.0"
