"""Benchmarks of the card store: get, put, and the warm path a build uses."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
import xxhash

from social_cards.store import Placing, Store

CARD_BYTES = 40_000
WARM_CARDS = 10_000


def _cards(n: int) -> list[tuple[str, bytes]]:
    rng = random.Random(5)
    out = []
    for _ in range(n):
        data = rng.randbytes(CARD_BYTES)
        out.append((xxhash.xxh3_128_hexdigest(data), data))
    return out


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    folder = tmp_path_factory.mktemp("store")
    cards = _cards(WARM_CARDS)
    with Store(folder) as store:
        for key, data in cards:
            store.put(key, data)
    return folder, [key for key, _ in cards]


def test_get(benchmark: pytest.FixtureRequest, filled: tuple[Path, list[str]]) -> None:
    """One verified read of a 40 KB card."""
    folder, keys = filled
    cycle = iter(keys * 100)
    with Store(folder) as store:
        benchmark(lambda: store.get(next(cycle)))  # type: ignore[operator]


def test_put(benchmark: pytest.FixtureRequest, tmp_path: Path) -> None:
    """One write of a new 40 KB card."""
    cards = iter(_cards(2_000))
    with Store(tmp_path) as store:
        benchmark.pedantic(lambda: store.put(*next(cards)), rounds=500, iterations=1)  # type: ignore[attr-defined]


def test_warm_path_10k(benchmark: pytest.FixtureRequest, filled: tuple[Path, list[str]], tmp_path: Path) -> None:
    """Look up and materialize 10,000 cached cards into a fresh site folder (target: 0.3 s)."""
    folder, keys = filled
    site = tmp_path / "site"

    def setup() -> tuple[tuple[list[tuple[str, Path]]], dict[str, object]]:
        shutil.rmtree(site, ignore_errors=True)
        return ([(key, site / "posts" / str(i % 50) / f"{i}.png") for i, key in enumerate(keys)],), {}

    def warm(items: list[tuple[str, Path]]) -> None:
        with Store(folder) as store:
            assert len(store.materialize_many(items)) == len(keys)

    benchmark.pedantic(warm, setup=setup, rounds=5, iterations=1)  # type: ignore[attr-defined]


def test_warm_path_10k_handed_to_the_helper(
    benchmark: pytest.FixtureRequest, filled: tuple[Path, list[str]], tmp_path: Path
) -> None:
    """What a build waits for at 10,000 cached cards: one lookup, then the helper process places them.

    The helper's own time runs beside the build (MkDocs writes pages meanwhile); the
    teardown waits for it and checks every card was placed.
    """
    folder, keys = filled
    site = tmp_path / "site"
    handed: list[tuple[Store, Placing]] = []

    def setup() -> tuple[tuple[list[tuple[str, str]]], dict[str, object]]:
        shutil.rmtree(site, ignore_errors=True)
        return ([(key, f"{site}/posts/{i % 50}/{i}.png") for i, key in enumerate(keys)],), {}

    def hand_over(items: list[tuple[str, str]]) -> None:
        store = Store(folder)
        assert len(store.materialize_many(items, later=True)) == len(keys)
        handed.append((store, store.place_queued()))

    def teardown(items: list[tuple[str, str]]) -> None:
        store, placing = handed.pop()
        assert placing.wait() == set()
        store.close()
        assert sum(1 for _ in site.rglob("*.png")) == len(keys)

    benchmark.pedantic(hand_over, setup=setup, teardown=teardown, rounds=5, iterations=1)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def remembered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """10,000 small cards, each remembered under an input fingerprint, as a site's first build leaves them."""
    folder = tmp_path_factory.mktemp("remembered")
    rng = random.Random(6)
    fingerprints = [f"{i:032x}" for i in range(WARM_CARDS)]
    with Store(folder) as store:
        learned = []
        for fingerprint in fingerprints:
            data = rng.randbytes(1_000)  # small: this times the store's bookkeeping, not reading cards
            key = xxhash.xxh3_128_hexdigest(data)
            store.put(key, data)
            learned.append((fingerprint, (key, 1200, 630)))
        store.remember(learned)
    return folder, fingerprints


@pytest.mark.parametrize("memo", [False, True], ids=["index", "memo"])
def test_warm_bookkeeping_10k(benchmark: pytest.FixtureRequest, remembered: tuple[Path, list[str]], memo: bool) -> None:
    """A warm build's whole store side at 10,000 pages: open, fingerprints to keys, keys to files,
    cards checked, the use recorded at close; by the index alone, or with the site's memo."""
    folder, fingerprints = remembered

    def warm() -> None:
        with Store(folder) as store:
            if memo:
                store.use_memo("bench")
            known = store.recall(fingerprints)
            assert len(store.materialize_many(((known[fp].key, None) for fp in fingerprints), later=True)) == WARM_CARDS
            assert store.place_queued().wait() == set()

    warm()  # the first run writes the memo the others read
    benchmark.pedantic(warm, rounds=5, iterations=1)  # type: ignore[attr-defined]
