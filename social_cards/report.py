"""What a run of the pipeline reports: each card made, each that could not be, and the counts."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CardError", "CardResult", "Report"]


@dataclass(frozen=True, slots=True)
class CardResult:
    """A card that is ready: in the cache (if it is on) and at its target (if any)."""

    ref: str
    key: str
    width: int
    height: int
    target: Path | None
    cached: bool


@dataclass(frozen=True, slots=True)
class CardError:
    """A card that could not be made: where it came from and why."""

    ref: str
    reason: str


@dataclass(slots=True)
class Report:
    """Counts of a run, updated as it goes (for progress) and final at the end."""

    cards: int = 0
    cached: int = 0
    remote: int = 0
    """Of the cached cards, those the shared tier had (and the local cache did not)."""
    drawn: int = 0
    failed: int = 0
    elsewhere: int = 0
    """Cards left to the other shards of a split run."""
    damaged: int = 0
    errors: list[CardError] = field(default_factory=list)
    results: dict[str, CardResult] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    @property
    def done(self) -> int:
        return self.cached + self.drawn + self.failed

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started

    def error_lines(self, shown: int = 3) -> list[str]:
        """The errors as lines, one per reason once it failed more than ``shown`` cards.

        One cause (no cairo library, say) should not bury a log under a line per card.
        """
        by_reason: dict[str, list[str]] = {}
        for error in self.errors:
            by_reason.setdefault(error.reason, []).append(error.ref)
        lines: list[str] = []
        for reason, refs in by_reason.items():
            if len(refs) <= shown:
                lines.extend(f"{ref}: no card: {reason}" for ref in refs)
            else:
                lines.append(f"{len(refs)} cards not made ({', '.join(refs[:shown])}, ...): {reason}")
        return lines
