"""Rhythm health: the figures (`figures.build_report`), rendered as terminal text and as HTML."""
