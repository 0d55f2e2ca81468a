"""Cutting long lists into statement-sized pieces."""

from __future__ import annotations

from collections.abc import Iterator

CHUNK = 5000


def chunks(items: list, size: int = CHUNK) -> Iterator[list]:
    """Slices of at most `size` items: one INSERT batch, or one IN list under PostgreSQL's parameter limit."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
