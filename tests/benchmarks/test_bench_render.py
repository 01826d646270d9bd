"""Bulk pre-render throughput: `social-cards render titles.jsonl --json` on 1,000 and 10,000 generated titles.

Each run is a real process with an empty cache (cold) or the cache a cold run
filled (warm). Extra info holds cards per second, the summary's own figures and
the peak memory of the process tree (pool workers included). Targets on the
2-core machine: at least 150 cold cards per second with the default template,
peak memory under 300 MB, and peak memory at 10,000 cards at most 1.5 times that
at 1,000.

    python -m pytest tests/benchmarks/test_bench_render.py --benchmark-only
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from process_tree import installed_env, run
from sites import write_titles


def _render(source: Path, cache: Path) -> dict[str, float]:
    command = [sys.executable, "-m", "social_cards", "render", str(source), "--cache-dir", str(cache), "--json"]
    done = run(command, source.parent, installed_env())
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    return {**summary, "wall_s": round(done.seconds, 3), "peak_mb": round(done.peak_mb, 1)}


@pytest.mark.parametrize("cards", [1_000, 10_000], ids=["1k", "10k"])
@pytest.mark.parametrize("state", ["cold", "warm"])
def test_render(benchmark: pytest.FixtureRequest, tmp_path: Path, cards: int, state: str) -> None:
    """Render ``cards`` titles with the default template; cold draws them all, warm finds them all cached."""
    source = write_titles(tmp_path / "titles.jsonl", cards)
    cache = tmp_path / "cache"
    if state == "warm":
        _render(source, cache)
    last: dict[str, float] = {}

    def setup() -> tuple[tuple[()], dict[str, object]]:
        if state == "cold":
            shutil.rmtree(cache, ignore_errors=True)
        return (), {}

    def one() -> None:
        last.update(_render(source, cache))

    benchmark.pedantic(one, setup=setup, rounds=1 if state == "cold" else 3, iterations=1)  # type: ignore[attr-defined]
    last["cards_per_s"] = round(last["cards"] / last["seconds"], 1)
    benchmark.extra_info.update(last)  # type: ignore[attr-defined]
    assert last["cards"] == cards and last["failed"] == 0
    assert last["drawn" if state == "cold" else "cached"] == cards
