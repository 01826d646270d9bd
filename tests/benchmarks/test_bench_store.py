"""Benchmarks of the card store: get, put, and the warm path a build uses."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
import xxhash

from social_cards.place import place
from social_cards.store import Recalled, Store, check_of

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


def test_warm_path_10k(benchmark: pytest.FixtureRequest, remembered: tuple[Path, list[str]], tmp_path: Path) -> None:
    """A warm build's store side at 10,000 pages: each fingerprint recalled, its card read, checked and copied
    into a fresh site folder, the use recorded at close."""
    folder, fingerprints = remembered
    site = tmp_path / "site"

    def setup() -> tuple[tuple[()], dict[str, object]]:
        shutil.rmtree(site, ignore_errors=True)
        return (), {}

    def warm() -> None:
        with Store(folder) as store:
            for n, fingerprint in enumerate(fingerprints):
                recalled = store.recall(fingerprint)
                assert recalled is not None
                data = store.get(recalled.key, recalled.check)
                assert data is not None
                place(site / "posts" / str(n % 50) / f"{n}.png", data)

    benchmark.pedantic(warm, setup=setup, rounds=5, iterations=1)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def remembered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """10,000 small cards, each remembered under an input fingerprint, as a site's first build leaves them."""
    folder = tmp_path_factory.mktemp("remembered")
    rng = random.Random(6)
    fingerprints = [f"{i:032x}" for i in range(WARM_CARDS)]
    with Store(folder) as store:
        for fingerprint in fingerprints:
            data = rng.randbytes(14_000)
            key = xxhash.xxh3_128_hexdigest(data)
            store.put(key, data)
            store.remember(fingerprint, Recalled(key, 1200, 630, check_of(data)))
    return folder, fingerprints
