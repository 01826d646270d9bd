"""MkDocs builds of generated sites (Material theme) with and without social-cards: 1,000 and 10,000 pages.

Each build is a real `mkdocs build` process. Cold: an empty card cache; warm: the
cache a cold build filled. The no-card build of the same site is the baseline;
the plugin's overhead is the difference. Each benchmark's extra info holds the
peak memory of the process tree and the plugin's summary line.

    python -m pytest tests/benchmarks/test_bench_build.py --benchmark-only
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest
from process_tree import installed_env, run
from sites import make_site

SUMMARY = re.compile(r"social-cards: (\d+) cards \((\d+) cached, (\d+) drawn\) in [\d.]+ s")
PLUGIN = "  - social-cards:\n      cache_dir: cache\n"


def _build(config: Path) -> tuple[float, float, str]:
    done = run([sys.executable, "-m", "mkdocs", "build", "-f", str(config)], config.parent, installed_env())
    assert done.returncode == 0, done.stderr[-3000:]
    found = SUMMARY.search(done.stderr)
    return done.seconds, done.peak_mb, found[0] if found else ""


@pytest.fixture(scope="module", params=[1_000, 10_000], ids=["1k", "10k"])
def sites(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp(f"sites-{request.param}")
    return {
        "none": make_site(root / "none", request.param),
        "social-cards": make_site(root / "cards", request.param, plugins=PLUGIN),
    }


def _bench(benchmark: pytest.FixtureRequest, config: Path, *, cards: bool, cold: bool, rounds: int) -> None:
    last: dict[str, object] = {}

    def setup() -> tuple[tuple[()], dict[str, object]]:
        if cold:
            shutil.rmtree(config.parent / "cache", ignore_errors=True)
        # A new site folder for every build, as in side_by_side.py: one built into again
        # and again slows down, by an amount of its own.
        shutil.rmtree(config.parent / "site", ignore_errors=True)
        return (), {}

    def one() -> None:
        seconds, peak_mb, summary = _build(config)
        last.update(wall_s=round(seconds, 3), peak_mb=round(peak_mb, 1), summary=summary)

    benchmark.pedantic(one, setup=setup, rounds=rounds, iterations=1)  # type: ignore[attr-defined]
    benchmark.extra_info.update(last)  # type: ignore[attr-defined]
    if cards:
        drawn = SUMMARY.search(str(last["summary"]))
        assert drawn is not None and (int(drawn[3]) > 0) == cold, last["summary"]


def test_build_without_cards(benchmark: pytest.FixtureRequest, sites: dict[str, Path]) -> None:
    """The baseline: the same site with no card plugin."""
    _build(sites["none"])  # a first build compiles bytecode and warms the file cache
    _bench(benchmark, sites["none"], cards=False, cold=False, rounds=3)


def test_build_cold(benchmark: pytest.FixtureRequest, sites: dict[str, Path]) -> None:
    """Every card drawn (empty cache), in a pool across all cores."""
    _bench(benchmark, sites["social-cards"], cards=True, cold=True, rounds=1)


def test_build_warm(benchmark: pytest.FixtureRequest, sites: dict[str, Path]) -> None:
    """Every card cached: looked up, verified and linked; nothing drawn (target: at most 0.3 s per 10,000 pages)."""
    if not (sites["social-cards"].parent / "cache").is_dir():
        _build(sites["social-cards"])
    _bench(benchmark, sites["social-cards"], cards=True, cold=False, rounds=3)
