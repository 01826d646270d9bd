"""Pausing Python's cycle collector while many long-lived objects are made at once.

A full collection walks every object the process holds. Making tens of thousands of
objects that will all stay alive (a memo read, a build's cards) starts such passes
over everything else a build holds, only to find it all alive.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]


@contextmanager
def collector_paused() -> Iterator[bool]:
    """Keep the collector off inside the block; yields whether it was on, and puts it back as it was."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield collecting
    finally:
        if collecting:
            gc.enable()
