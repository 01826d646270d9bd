"""The card store and its maintenance: integrity, atomicity under SIGKILL, concurrency, degradation,
prune and stats."""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import xxhash
from conftest import REPO, decode, run_cli

from social_cards import CardInput, load_template
from social_cards.errors import CacheError
from social_cards.maintenance import cache_stats, parse_age, parse_size, prune
from social_cards.store import FORMAT_VERSION, Recalled, Store, check_of


def _blob(seed: int, size: int = 60_000) -> tuple[str, bytes]:
    """Random bytes named by their own digest, so any served value can be checked."""
    data = random.Random(seed).randbytes(size)
    return xxhash.xxh3_128_hexdigest(data), data


def _card_files(folder: Path) -> list[Path]:
    return sorted(folder.glob(f"v{FORMAT_VERSION}/cards/*/*"))


def test_put_get_and_counters(tmp_path: Path) -> None:
    """A stored card comes back; hits, misses and entries are counted across processes."""
    key, data = _blob(1)
    with Store(tmp_path) as store:
        assert store.get(key) is None
        assert store.put(key, data)
        assert store.get(key) == data
    with Store(tmp_path) as store:
        stats = cache_stats(store)
    assert (stats.entries, stats.bytes, stats.hits, stats.misses, stats.damaged) == (1, len(data), 1, 1, 0)
    assert stats.oldest is not None and stats.oldest == stats.newest and stats.builds == 1


def test_identical_cards_share_one_entry(tmp_path: Path) -> None:
    """Two pages whose cards resolve identically have one key, so one entry and one file named by it."""
    template = load_template("default")
    a = template.resolve(CardInput("Same", page_url="https://x/a/"))
    b = template.resolve(CardInput("Same", page_url="https://x/b/"))
    assert a.key == b.key
    with Store(tmp_path) as store:
        store.put(a.key, b"card")
        store.put(b.key, b"card")
        assert cache_stats(store).entries == 1
    assert [p.name for p in _card_files(tmp_path)] == [a.key]


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty", "small-flip"])
def test_damaged_file_entry_is_dropped_and_counted(tmp_path: Path, damage: str) -> None:
    """A truncated, bit-flipped or emptied card is never served: dropped, counted, reported as a miss."""
    key, data = _blob(2, 2_000 if damage == "small-flip" else 60_000)
    with Store(tmp_path) as store:
        store.put(key, data)
    (path,) = _card_files(tmp_path)
    raw = bytearray(path.read_bytes())
    if damage == "truncate":
        raw = raw[: len(raw) // 2]
    elif damage == "empty":
        raw = bytearray()
    else:
        raw[len(raw) // 2] ^= 0x10
    path.write_bytes(bytes(raw))
    with Store(tmp_path) as store:
        assert store.get(key) is None
        assert store.get(key) is None  # gone, not damaged twice
        stats = cache_stats(store)
    assert (stats.damaged, stats.entries) == (1, 0)
    assert _card_files(tmp_path) == []


def test_an_entry_can_only_point_at_its_own_card(tmp_path: Path) -> None:
    """Card files are named by their key: another card's valid file copied over it is damage, never served."""
    (key_a, data_a), (key_b, data_b) = _blob(5, 3_000), _blob(6, 3_000)
    with Store(tmp_path) as store:
        store.put(key_a, data_a)
        store.put(key_b, data_b)
        store.path(key_a).write_bytes(data_b)
        assert store.get(key_a) is None
        assert store.get(key_b) == data_b


def test_cards_share_a_few_hundred_folders(tmp_path: Path) -> None:
    """Card files go into at most 256 folders however many there are (a folder per card is slow to make)."""
    with Store(tmp_path) as store:
        for n in range(400):
            assert store.put(f"{n * 7919:032x}", b"card %d" % n)
        assert store.get(f"{399 * 7919:032x}") == b"card 399"
    folders = {p.parent for p in _card_files(tmp_path)}
    assert 0 < len(folders) <= 256


@pytest.mark.parametrize("breakage", ["file-in-the-way", "damaged-index"])
def test_unusable_cache_degrades_with_one_warning(
    tmp_path: Path, breakage: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A file where the folder should be, or a damaged index: gets miss, puts are skipped, one warning."""
    folder = tmp_path / "cache"
    if breakage == "file-in-the-way":
        folder.write_text("not a folder")
    else:
        (folder / f"v{FORMAT_VERSION}").mkdir(parents=True)
        (folder / f"v{FORMAT_VERSION}" / "cache.db").write_bytes(b"garbage" * 1000)
    key, data = _blob(4)
    with caplog.at_level(logging.WARNING, logger="social_cards"), Store(folder) as store:
        assert not store.enabled
        assert store.get(key) is None
        assert store.put(key, data) is False
        assert not store.enabled
        assert store.get(key) is None
        assert store.put(key, data) is False
    assert caplog.text.count("cannot be used") == 1


def test_cli_card_survives_an_unusable_cache(tmp_path: Path) -> None:
    """The card is still written, exit 0, with one warning line."""
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    out = tmp_path / "card.png"
    result = run_cli("card", "Still drawn", "--cache-dir", str(blocker), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("warning") == 1 and "drawing every card without caching" in result.stderr
    assert decode(out.read_bytes()).size == (1200, 630)


def test_cli_second_card_is_a_hit(tmp_path: Path) -> None:
    """`card` goes through the store: the second identical call comes from the cache."""
    cache = tmp_path / "c"
    first = run_cli("card", "Twice", "--cache-dir", str(cache), "-o", str(tmp_path / "1.png"))
    second = run_cli("card", "Twice", "--cache-dir", str(cache), "-o", str(tmp_path / "2.png"))
    assert "drawn" in first.stdout and "from the cache" in second.stdout
    assert (tmp_path / "1.png").read_bytes() == (tmp_path / "2.png").read_bytes()
    stats = json.loads(run_cli("stats", "--cache-dir", str(cache), "--json").stdout.splitlines()[-1])
    assert {k: stats[k] for k in ("entries", "hits", "misses", "damaged")} == {
        "entries": 1, "hits": 1, "misses": 1, "damaged": 0,
    }  # fmt: skip
    assert stats["bytes"] == (tmp_path / "1.png").stat().st_size


def test_cache_dir_from_environment(tmp_path: Path) -> None:
    """Without --cache-dir, $SOCIAL_CARDS_CACHE_DIR is used."""
    cache = tmp_path / "from-env"
    run_cli("card", "Env", "-o", str(tmp_path / "x.png"), env={"SOCIAL_CARDS_CACHE_DIR": str(cache)})
    assert (cache / f"v{FORMAT_VERSION}" / "cache.db").is_file()


def _age(folder: Path, key: str, seconds: float) -> None:
    """Make a card look last used (and written) ``seconds`` ago."""
    with Store(folder) as store:
        past = time.time() - seconds
        os.utime(store.path(key), (past, past))
        with store._uses() as db:  # the table of use, as a build that long ago left it
            db.execute("UPDATE CardUse SET last_used = ? WHERE key = ?", (past, key))


@pytest.mark.parametrize("dry_run", [True, False])
def test_prune_older_than(tmp_path: Path, dry_run: bool) -> None:
    """Entries unused for longer than the age go; a dry run reports the same and removes nothing."""
    old, new = _blob(10), _blob(11)
    with Store(tmp_path) as store:
        store.put(*old)
        store.put(*new)
    _age(tmp_path, old[0], 40 * 86400)
    with Store(tmp_path) as store:
        result = prune(store, older_than=parse_age("30d"), dry_run=dry_run)
        assert (result.removed, result.freed_bytes) == (1, len(old[1]))
        assert result.paths == (store.path(old[0]),)
        assert (store.get(old[0]) is not None) == dry_run
        assert store.get(new[0]) == new[1]


@pytest.mark.parametrize("dry_run", [True, False])
def test_prune_max_size_removes_least_recently_used(tmp_path: Path, dry_run: bool) -> None:
    """--max-size removes the least recently used until the rest fits."""
    blobs = [_blob(20 + i, 10_000) for i in range(5)]
    with Store(tmp_path) as store:
        for key, data in blobs:
            store.put(key, data)
    for i, (key, _) in enumerate(blobs):
        _age(tmp_path, key, 1000 - i * 100)  # blob 0 is the least recently used
    with Store(tmp_path) as store:
        result = prune(store, max_size=25_000, dry_run=dry_run)
        assert (result.removed, result.freed_bytes) == (3, 30_000)
        kept = [key for key, _ in blobs if store.get(key) is not None]
    assert kept == ([k for k, _ in blobs] if dry_run else [blobs[3][0], blobs[4][0]])


@pytest.mark.parametrize("dry_run", [True, False])
def test_prune_keep_builds(tmp_path: Path, dry_run: bool) -> None:
    """--keep-builds N removes entries none of the last N builds used."""
    first, second, third = _blob(30), _blob(31), _blob(32)
    with Store(tmp_path) as store:
        store.put(*first)
        store.put(*second)
    with Store(tmp_path) as store:
        store.put(*third)
        assert store.get(second[0]) is not None
    with Store(tmp_path) as store:
        result = prune(store, keep_builds=1, dry_run=dry_run)
        assert (result.removed, result.freed_bytes) == (1, len(first[1]))
        assert (store.get(first[0]) is not None) == dry_run
        assert store.get(second[0]) is not None and store.get(third[0]) is not None


def test_prune_removes_older_format_versions_and_nothing_else(tmp_path: Path) -> None:
    """A folder of another format version holding its own index goes; a v-something folder that is not a
    cache, and a card file of a writer that may still be adding its entry, stay."""
    old = tmp_path / "v0"
    old.mkdir()
    (old / "cache.db").write_bytes(b"x" * 1234)
    docs = tmp_path / "v9" / "docs"
    docs.mkdir(parents=True)
    (docs / "index.md").write_text("# not a cache")
    with Store(tmp_path) as store:
        fresh = store.path("ab" * 16)
        fresh.parent.mkdir(parents=True)
        fresh.write_bytes(b"being written")
        dry = prune(store, dry_run=True)
        assert (dry.removed, dry.freed_bytes, dry.paths) == (1, 1234, (old,)) and old.exists()
        assert prune(store).removed == 1
    assert not old.exists() and (docs / "index.md").is_file() and fresh.is_file()


def test_stats_and_prune_never_create_a_cache(tmp_path: Path) -> None:
    """A mistyped --cache-dir is an error that names it, and no folder appears."""
    missing = tmp_path / "typo"
    for command in (["stats"], ["prune", "--dry-run"]):
        result = run_cli(*command, "--cache-dir", str(missing))
        assert result.returncode == 1 and "no card cache at" in result.stderr and str(missing) in result.stderr
    assert not missing.exists()
    with pytest.raises(CacheError, match="no card cache"):
        Store(missing, create=False)


def test_cli_prune_reports_and_json(tmp_path: Path) -> None:
    """`prune` prints what it removed and freed; --json gives removed and freed_bytes."""
    cache = tmp_path / "c"
    run_cli("card", "One", "--cache-dir", str(cache), "-o", str(tmp_path / "1.png"))
    dry = run_cli("prune", "--cache-dir", str(cache), "--max-size", "0", "--dry-run")
    assert dry.returncode == 0 and "removed 1 entries" in dry.stdout
    done = json.loads(run_cli("prune", "--cache-dir", str(cache), "--max-size", "0", "--json").stdout.splitlines()[-1])
    assert done["removed"] == 1 and done["freed_bytes"] == (tmp_path / "1.png").stat().st_size
    for option, value in [("--older-than", "soon"), ("--max-size", "big")]:
        bad = run_cli("prune", "--cache-dir", str(cache), option, value)
        assert bad.returncode == 2 and "expected a" in bad.stderr
    huge = run_cli("prune", "--cache-dir", str(cache), "--max-size", "9" * 400, "--keep-builds", "9" * 400)
    assert huge.returncode == 0, huge.stderr


@pytest.mark.parametrize(
    ("text", "size"),
    [("500MB", 500_000_000), ("1GiB", 2**30), ("2.5k", 2500), ("1048576", 1048576), ("10 KiB", 10240), ("0", 0)],
)
def test_parse_size(text: str, size: int) -> None:
    """Sizes in bytes, SI and binary units."""
    assert parse_size(text) == size


@pytest.mark.parametrize(("text", "seconds"), [("30d", 30 * 86400), ("12h", 43200), ("45m", 2700), ("2w", 1209600)])
def test_parse_age(text: str, seconds: float) -> None:
    """Ages in seconds."""
    assert parse_age(text) == seconds


@pytest.mark.parametrize("bad", ["", "big", "-1MB", "5 parsecs"])
def test_bad_sizes_and_ages_are_clear_errors(bad: str) -> None:
    """Nonsense sizes and ages say what was expected."""
    with pytest.raises(CacheError, match="expected a size"):
        parse_size(bad)
    with pytest.raises(CacheError, match="expected an age"):
        parse_age(bad)


_WORKER = """
import random, sys, xxhash
from pathlib import Path
from social_cards.store import Store
folder, seed, count = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
with Store(folder) as store:
    for i in range(count):
        data = rng.randbytes(rng.choice([3_000, 40_000, 120_000]))
        key = xxhash.xxh3_128_hexdigest(data)
        store.put(key, data)
        print(key, flush=True)
        other = store.get(key)
        assert other == data, "read back differs"
"""


def _worker(folder: Path, seed: int, count: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _WORKER, str(folder), str(seed), str(count)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
    )  # fmt: skip


def test_processes_sharing_a_cache_lose_nothing(tmp_path: Path) -> None:
    """Four real processes writing and reading one folder: every entry each wrote is there, intact."""
    workers = [_worker(tmp_path, seed, 60) for seed in range(4)]
    written: list[str] = []
    for worker in workers:
        out, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err
        written.extend(out.split())
    with Store(tmp_path) as store:
        for key in written:
            data = store.get(key)
            assert data is not None and xxhash.xxh3_128_hexdigest(data) == key
        assert cache_stats(store).entries == len(set(written))


def test_sigkill_mid_write_never_serves_a_partial_card(tmp_path: Path) -> None:
    """Writers killed with SIGKILL at random moments, again and again: whatever is served is intact."""
    rng = random.Random(7)
    for round_ in range(6):
        worker = _worker(tmp_path, 100 + round_, 10_000)
        time.sleep(0.3 + rng.random() * 0.7)
        worker.send_signal(signal.SIGKILL)
        worker.communicate(timeout=60)
        assert worker.returncode == -signal.SIGKILL
    served = 0
    with Store(tmp_path) as store:
        keys = list(store.index.iterkeys())
        for key in keys:
            data = store.get(key)
            if data is not None:
                served += 1
                assert xxhash.xxh3_128_hexdigest(data) == key
        stats = cache_stats(store)
    assert served == len(keys) > 0
    assert stats.damaged == 0


def test_builds_starting_together_on_a_new_cache_all_get_it(tmp_path: Path) -> None:
    """Eight processes opening one brand-new cache at once: none is refused as 'locked'."""
    for round_ in range(4):
        folder = tmp_path / f"round{round_}"
        workers = [_worker(folder, 1000 * round_ + seed, 3) for seed in range(8)]
        for worker in workers:
            _, err = worker.communicate(timeout=300)
            assert worker.returncode == 0, err
            assert "cannot be used" not in err


def test_recall_gives_what_was_remembered_and_prune_forgets_it(tmp_path: Path) -> None:
    """Fingerprints map to the key and size they resolved to, across runs, until prune removes the card."""
    key, data = _blob(60, 1_000)
    with Store(tmp_path) as store:
        store.put(key, data)
        store.remember("fp1", Recalled(key, 1200, 630, check_of(data)))
        store.remember("fp2", Recalled("9" * 32, 10, 10, "4 abc"))
    with Store(tmp_path) as store:
        assert (store.recall("fp1"), store.recall("fp2"), store.recall("fp3")) == (
            (key, 1200, 630, check_of(data)), ("9" * 32, 10, 10, "4 abc"), None,
        )  # fmt: skip
        assert store.get(key, check_of(data)) == data
        prune(store, max_size=0)
        assert store.recall("fp1") is None


def test_a_card_stored_again_with_other_bytes_is_served_not_dropped(tmp_path: Path) -> None:
    """A recall's length and digest that no longer match (the card was drawn again, by a newer Pillow say)
    send the lookup to the index, which serves the new bytes; only bytes the index disowns are damage."""
    (key, old), (_, new) = _blob(70, 2_000), _blob(71, 2_500)
    with Store(tmp_path) as store:
        store.put(key, old)
        store.put(key, new)
        assert store.get(key, check_of(old)) == new
        assert store.counts["damaged"] == 0


def test_a_long_run_keeps_a_bounded_record_of_use_in_one_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run of any size holds at most USES_KEPT used keys in memory: the rest are written as it goes, all
    under the one build id the run has, so `prune --keep-builds` still counts it as one build."""
    from social_cards import store as store_module

    monkeypatch.setattr(store_module, "USES_KEPT", 3)
    with Store(tmp_path / "cache") as store:
        for n in range(10):
            key = f"{n:032x}"
            assert store.put(key, f"card {n}".encode())
            assert len(store._used) < 3
        assert store.get("0" * 32, check_of(b"card 0")) == b"card 0"
    with Store(tmp_path / "cache", create=False) as store:
        uses = store.uses()
        assert len(uses) == 10 and {build for _, build in uses.values()} == {1}
        assert store.counter("builds") == 1
