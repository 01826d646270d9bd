"""MkDocs builds of generated sites (Material theme) with and without social-cards: 1,000 and 10,000 pages.

Each build is a real `mkdocs build` process. Cold: an empty card cache; warm: the
cache a cold build filled. The no-card build of the same site is the baseline;
the plugin's overhead is the difference. Each benchmark's extra info holds the
peak memory of the process tree and the plugin's summary line.

    python -m pytest tests/benchmarks/test_bench_build.py --benchmark-only
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest
from process_tree import installed_env, run
from sites import Trash, make_site

SUMMARY = re.compile(r"social-cards: (\d+) cards \((\d+) cached, (\d+) drawn\) in [\d.]+ s")
PLUGIN = "  - social-cards:\n      cache_dir: cache\n"


def _build(config: Path) -> tuple[float, float, str]:
    done = run([sys.executable, "-m", "mkdocs", "build", "-f", str(config)], config.parent, installed_env())
    assert done.returncode == 0, done.stderr[-3000:]
    found = SUMMARY.search(done.stderr)
    return done.seconds, done.peak_mb, found[0] if found else ""


class Sites(NamedTuple):
    """The same generated site without cards and with them, and where their old builds go."""

    none: Path
    cards: Path
    trash: Trash


@pytest.fixture(scope="module", params=[1_000, 10_000], ids=["1k", "10k"])
def sites(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sites]:
    root = tmp_path_factory.mktemp(f"sites-{request.param}")
    trash = Trash(root, request.param)
    none = make_site(root / "none", request.param)
    yield Sites(none, make_site(root / "cards", request.param, plugins=PLUGIN), trash)
    trash.empty()


def _bench(benchmark: pytest.FixtureRequest, sites: Sites, *, cards: bool, cold: bool, rounds: int) -> None:
    config = sites.cards if cards else sites.none
    last: dict[str, object] = {}

    def setup() -> tuple[tuple[()], dict[str, object]]:
        # A new site folder (and for a cold build, cache) for every build, as in side_by_side.py;
        # the last one moved aside rather than deleted (see sites.Trash).
        if cold:
            sites.trash.move(config.parent / "cache")
        sites.trash.move(config.parent / "site")
        return (), {}

    def one() -> None:
        seconds, peak_mb, summary = _build(config)
        sites.trash.built()
        last.update(wall_s=round(seconds, 3), peak_mb=round(peak_mb, 1), summary=summary)

    benchmark.pedantic(one, setup=setup, rounds=rounds, iterations=1)  # type: ignore[attr-defined]
    benchmark.extra_info.update(last)  # type: ignore[attr-defined]
    if cards:
        drawn = SUMMARY.search(str(last["summary"]))
        assert drawn is not None and (int(drawn[3]) > 0) == cold, last["summary"]


def test_build_without_cards(benchmark: pytest.FixtureRequest, sites: Sites) -> None:
    """The baseline: the same site with no card plugin."""
    _build(sites.none)  # a first build compiles bytecode and warms the file cache
    _bench(benchmark, sites, cards=False, cold=False, rounds=3)


def test_build_cold(benchmark: pytest.FixtureRequest, sites: Sites) -> None:
    """Every card drawn (empty cache), in a pool across all cores."""
    _bench(benchmark, sites, cards=True, cold=True, rounds=1)


def test_build_warm(benchmark: pytest.FixtureRequest, sites: Sites) -> None:
    """Every card cached: looked up, verified and linked; nothing drawn (target: at most 0.3 s per 10,000 pages)."""
    if not (sites.cards.parent / "cache").is_dir():
        _build(sites.cards)
    _bench(benchmark, sites, cards=True, cold=False, rounds=3)
