"""The card store: integrity, atomicity under SIGKILL, concurrency, degradation, prune and stats."""

from __future__ import annotations

import json
import logging
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import diskcache
import pytest
import xxhash
from conftest import REPO, decode, run_cli

from social_cards import CardInput, load_template
from social_cards.errors import CacheError
from social_cards.memo import Memo
from social_cards.store import FORMAT_VERSION, Store, parse_age, parse_size


def _blob(seed: int, size: int = 60_000) -> tuple[str, bytes]:
    """Random bytes named by their own digest, so any served value can be checked."""
    data = random.Random(seed).randbytes(size)
    return xxhash.xxh3_128_hexdigest(data), data


def _value_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.val"))


def test_put_get_and_counters(tmp_path: Path) -> None:
    """A stored card comes back; hits, misses and entries are counted across processes."""
    key, data = _blob(1)
    with Store(tmp_path) as store:
        assert store.get(key) is None
        assert store.put(key, data)
        assert store.get(key) == data
    with Store(tmp_path) as store:
        stats = store.stats()
    assert (stats.entries, stats.bytes, stats.hits, stats.misses, stats.damaged) == (1, len(data), 1, 1, 0)
    assert stats.oldest is not None and stats.oldest == stats.newest


def test_identical_cards_share_one_entry(tmp_path: Path) -> None:
    """Two pages whose cards resolve identically have one key, so one entry."""
    template = load_template("default")
    a = template.resolve(CardInput("Same", page_url="https://x/a/"))
    b = template.resolve(CardInput("Same", page_url="https://x/b/"))
    assert a.key == b.key
    with Store(tmp_path) as store:
        store.put(a.key, b"card")
        store.put(b.key, b"card")
        assert store.stats().entries == 1


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty"])
def test_damaged_file_entry_is_dropped_and_counted(
    tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A truncated, bit-flipped or emptied value is never served: dropped, counted, reported as a miss."""
    key, data = _blob(2)
    with Store(tmp_path) as store:
        store.put(key, data)
    (path,) = _value_files(tmp_path / f"v{FORMAT_VERSION}")
    raw = bytearray(path.read_bytes())
    if damage == "truncate":
        raw = raw[: len(raw) // 2]
    elif damage == "flip":
        raw[len(raw) // 2] ^= 0x10
    else:
        raw = bytearray()
    path.write_bytes(bytes(raw))
    with caplog.at_level(logging.WARNING, logger="social_cards"), Store(tmp_path) as store:
        assert store.get(key) is None
        assert store.get(key) is None  # gone, not damaged twice
        stats = store.stats()
    assert "damaged cache entry" in caplog.text
    assert (stats.damaged, stats.entries) == (1, 0)


def test_a_new_cache_is_empty_until_a_card_is_stored(tmp_path: Path) -> None:
    """``empty`` tells a first build (every card to draw) from a later one."""
    with Store(tmp_path) as store:
        assert store.empty
        assert store.put("a" * 32, b"card")
        assert not store.empty
    with Store(tmp_path) as again:
        assert not again.empty


def test_cards_share_a_few_hundred_folders(tmp_path: Path) -> None:
    """Card files go into at most 256 folders however many there are (a folder per card is slow to make)."""
    with Store(tmp_path) as store:
        for n in range(400):
            assert store.put(f"{n:032x}", b"card %d" % n)
        folders = [p for p in store.root.rglob("*") if p.is_dir()]
        assert store.get(f"{399:032x}") == b"card 399"
    assert 0 < len(folders) <= 256


def test_small_cards_are_files_and_checked_too(tmp_path: Path) -> None:
    """A 2 KB card is a file like any other, and a flipped byte in it is caught."""
    key, data = _blob(3, size=2_000)
    with Store(tmp_path) as store:
        store.put(key, data)
    (path,) = _value_files(tmp_path / f"v{FORMAT_VERSION}")
    path.chmod(0o644)
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 1
    path.write_bytes(bytes(raw))
    with Store(tmp_path) as store:
        assert store.get(key) is None
        assert store.stats().damaged == 1


def test_materialize_links_verified_cards(tmp_path: Path) -> None:
    """The warm path puts every cached card at its target in one call; misses are left to draw."""
    blobs = [_blob(40 + i, 5_000) for i in range(600)]
    cache, site = tmp_path / "cache", tmp_path / "site"
    with Store(cache) as store:
        for key, data in blobs[:500]:
            store.put(key, data)
    targets = [(key, site / "cards" / f"{i % 7}" / f"{i}.png") for i, (key, _) in enumerate(blobs)]
    with Store(cache) as store:
        served = store.materialize_many(targets)
        assert served == {key for key, _ in blobs[:500]}
    for (_, target), (_, data) in zip(targets[:500], blobs[:500], strict=True):
        assert target.read_bytes() == data
    assert not targets[-1][1].exists()
    with Store(cache) as store:
        stats = store.stats()
        assert (stats.hits, stats.misses) == (500, 100)
        assert store.materialize_many(targets[:3]) == {k for k, _ in targets[:3]}  # targets already there


def test_materialize_drops_damaged_cards(tmp_path: Path) -> None:
    """A damaged value is not linked into the site: it is dropped and left to draw."""
    key, data = _blob(50)
    with Store(tmp_path / "c") as store:
        store.put(key, data)
    (path,) = _value_files(tmp_path / "c" / f"v{FORMAT_VERSION}")
    path.chmod(0o644)
    path.write_bytes(b"\0" * len(data))
    target = tmp_path / "site" / "card.png"
    with Store(tmp_path / "c") as store:
        assert store.materialize_many([(key, target)]) == set()
        assert store.stats().damaged == 1
    assert not target.exists()


@pytest.mark.parametrize("breakage", ["file-in-the-way", "damaged-index"])
def test_unusable_cache_degrades_with_one_warning(
    tmp_path: Path, breakage: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A file where the folder should be, or a damaged index: gets miss, puts are skipped, one warning.

    The index is opened when first needed, so a damaged one is found by the first put.
    """
    folder = tmp_path / "cache"
    if breakage == "file-in-the-way":
        folder.write_text("not a folder")
    else:
        (folder / f"v{FORMAT_VERSION}").mkdir(parents=True)
        (folder / f"v{FORMAT_VERSION}" / "cache.db").write_bytes(b"garbage" * 1000)
    key, data = _blob(4)
    with caplog.at_level(logging.WARNING, logger="social_cards"), Store(folder) as store:
        assert store.enabled == (breakage == "damaged-index")
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
    db = sqlite3.connect(folder / f"v{FORMAT_VERSION}" / "usage.db")
    db.execute(
        "UPDATE entries SET last_used = ?, written = ? WHERE key = ?",
        (time.time() - seconds, time.time() - seconds, key),
    )
    db.commit()
    db.close()


@pytest.mark.parametrize("dry_run", [True, False])
def test_prune_older_than(tmp_path: Path, dry_run: bool) -> None:
    """Entries unused for longer than the age go; a dry run reports the same and removes nothing."""
    old, new = _blob(10), _blob(11)
    with Store(tmp_path) as store:
        store.put(*old)
        store.put(*new)
    _age(tmp_path, old[0], 40 * 86400)
    with Store(tmp_path) as store:
        result = store.prune(older_than=parse_age("30d"), dry_run=dry_run)
        assert (result.removed, result.freed_bytes) == (1, len(old[1]))
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
        result = store.prune(max_size=25_000, dry_run=dry_run)
        assert (result.removed, result.freed_bytes) == (3, 30_000)
        kept = [key for key, _ in blobs if store.get(key) is not None]
    assert kept == ([k for k, _ in blobs] if dry_run else [blobs[3][0], blobs[4][0]])


@pytest.mark.parametrize("dry_run", [True, False])
def test_prune_keep_builds(tmp_path: Path, dry_run: bool) -> None:
    """--keep-builds N removes entries none of the last N builds used."""
    first, second, third = _blob(30), _blob(31), _blob(32)
    with Store(tmp_path, build_id="b1") as store:
        store.put(*first)
        store.put(*second)
    with Store(tmp_path, build_id="b2") as store:
        store.put(*third)
        assert store.get(second[0]) is not None
    with Store(tmp_path) as store:
        result = store.prune(keep_builds=1, dry_run=dry_run)
        assert (result.removed, result.freed_bytes) == (1, len(first[1]))
        assert (store.get(first[0]) is not None) == dry_run
        assert store.get(second[0]) is not None and store.get(third[0]) is not None


def test_prune_removes_older_format_versions(tmp_path: Path) -> None:
    """Entries of another format version are never read, and prune removes them."""
    old = tmp_path / "v0"
    old.mkdir()
    (old / "cache.db").write_bytes(b"x" * 1234)
    with Store(tmp_path) as store:
        assert store.prune(dry_run=True).freed_bytes == 1234 and old.exists()
        assert store.prune().removed == 1
    assert not old.exists()


def test_cli_prune_reports_and_json(tmp_path: Path) -> None:
    """`prune` prints what it removed and freed; --json gives removed and freed_bytes."""
    cache = tmp_path / "c"
    run_cli("card", "One", "--cache-dir", str(cache), "-o", str(tmp_path / "1.png"))
    dry = run_cli("prune", "--cache-dir", str(cache), "--max-size", "0", "--dry-run")
    assert dry.returncode == 0 and "removed 1 entries" in dry.stdout
    done = json.loads(run_cli("prune", "--cache-dir", str(cache), "--max-size", "0", "--json").stdout.splitlines()[-1])
    assert done["removed"] == 1 and done["freed_bytes"] == (tmp_path / "1.png").stat().st_size
    bad = run_cli("prune", "--cache-dir", str(cache), "--older-than", "soon")
    assert bad.returncode == 1 and "expected an age" in bad.stderr


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
        assert store.stats().entries == len(set(written))


def test_sigkill_mid_write_never_serves_a_partial_card(tmp_path: Path) -> None:
    """Writers killed with SIGKILL at random moments, again and again: whatever is served is intact."""
    rng = random.Random(7)
    for round_ in range(6):
        worker = _worker(tmp_path, 100 + round_, 10_000)
        time.sleep(0.3 + rng.random() * 0.7)
        worker.send_signal(signal.SIGKILL)
        worker.communicate(timeout=60)
        assert worker.returncode == -signal.SIGKILL
    keys = list(diskcache.Cache(str(tmp_path / f"v{FORMAT_VERSION}")).iterkeys())
    served = 0
    with Store(tmp_path) as store:
        stats = store.stats()  # gives a usage row to entries whose writer died between its two writes
        for key in keys:
            data = store.get(key)
            if data is not None:
                served += 1
                assert xxhash.xxh3_128_hexdigest(data) == key
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
    with Store(tmp_path) as store:
        store.put("k" * 32, b"card")
        store.remember([("fp1", ("k" * 32, 1200, 630)), ("fp2", ("j" * 32, 10, 10))])
    with Store(tmp_path) as store:
        assert store.recall(["fp1", "fp2", "fp3"]) == {
            "fp1": ("k" * 32, 1200, 630),
            "fp2": ("j" * 32, 10, 10),
        }
        store.prune(max_size=0)
        assert store.recall(["fp1", "fp2"]) == {}


def test_cards_placed_later_are_settled_when_waited_for(tmp_path: Path) -> None:
    """``later``: found keys come back at once; the helper's verdict (one damaged) arrives with ``wait``."""
    blobs = [_blob(70 + i, 4_000) for i in range(5)]
    with Store(tmp_path / "c") as store:
        for key, data in blobs[:4]:
            store.put(key, data)
    damaged = next(p for p in _value_files(tmp_path / "c" / f"v{FORMAT_VERSION}") if p.read_bytes() == blobs[1][1])
    damaged.chmod(0o644)
    damaged.write_bytes(b"\1" + blobs[1][1][1:])
    targets = [(key, tmp_path / "site" / f"{i}.png") for i, (key, _) in enumerate(blobs)]
    with Store(tmp_path / "c") as store:
        found = store.materialize_many(targets, later=True)
        assert found == {key for key, _ in blobs[:4]}
        assert store.place_queued().wait() == {blobs[1][0]}
        stats = store.stats()
        assert (stats.hits, stats.misses, stats.damaged, stats.entries) == (3, 2, 1, 3)
    for i in (0, 2, 3):
        assert targets[i][1].read_bytes() == blobs[i][1]
    assert not targets[1][1].exists() and not targets[4][1].exists()


def test_cards_queued_and_never_placed_are_placed_on_close(tmp_path: Path) -> None:
    """Closing a store with cards still queued places them: nothing a caller was told is cached goes missing."""
    key, data = _blob(80, 2_000)
    with Store(tmp_path / "c") as store:
        store.put(key, data)
    target = tmp_path / "site" / "card.png"
    with Store(tmp_path / "c") as store:
        assert store.materialize_many([(key, target)], later=True) == {key}
    assert target.read_bytes() == data


def test_a_large_placement_is_shared_with_a_helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the sharing threshold, half the folders go to a helper; damage on either side is caught."""
    monkeypatch.setattr("social_cards.store._SHARE_FROM_CARDS", 10)
    blobs = [_blob(90 + i, 3_000) for i in range(40)]
    with Store(tmp_path / "c") as store:
        for key, data in blobs:
            store.put(key, data)
    by_data = {p.read_bytes(): p for p in _value_files(tmp_path / "c" / f"v{FORMAT_VERSION}")}
    bad = {blobs[i][0] for i in range(0, 40, 7)}  # spread over folders, so both sides see some
    for key, data in blobs:
        if key in bad:
            by_data[data].chmod(0o644)
            by_data[data].write_bytes(data[:-1])
    targets = [(key, tmp_path / "site" / f"f{i % 8}" / f"{i}.png") for i, (key, _) in enumerate(blobs)]
    with Store(tmp_path / "c") as store:
        assert store.materialize_many(targets) == {key for key, _ in blobs} - bad
        assert store.stats().damaged == len(bad)
    for (key, target), (_, data) in zip(targets, blobs, strict=True):
        assert target.exists() == (key not in bad)
        if key not in bad:
            assert target.read_bytes() == data


def _memo_of(folder: Path, name: str = "site") -> Memo:
    db = sqlite3.connect(folder / f"v{FORMAT_VERSION}" / "usage.db")
    row = db.execute("SELECT body FROM memos WHERE name = ?", (name,)).fetchone()
    db.close()
    return Memo.decode(row[0]) if row else Memo()


def _memo_run(folder: Path, cards: list[tuple[str, bytes]], site: Path, *, build_id: str | None = None) -> set[str]:
    """One warm run of a site called "site": recall each card by its fingerprint, place it, close."""
    with Store(folder, build_id=build_id) as store:
        store.use_memo("site")
        known = store.recall(f"fp-{key}" for key, _ in cards)
        return store.materialize_many(
            (known[f"fp-{key}"][0], site / f"{key}.png") for key, _ in cards if f"fp-{key}" in known
        )


def _cached(folder: Path, cards: list[tuple[str, bytes]], build_id: str = "b0") -> None:
    with Store(folder, build_id=build_id) as store:
        for key, data in cards:
            store.put(key, data)
        store.remember((f"fp-{key}", (key, 1200, 630)) for key, _ in cards)


def test_a_memo_answers_the_next_run_without_the_index(tmp_path: Path) -> None:
    """After one run, the next finds its cards by the memo alone: the index rows may be gone."""
    cards = [_blob(200 + i, 3_000) for i in range(3)]
    _cached(tmp_path, cards)
    assert _memo_run(tmp_path, cards, tmp_path / "one") == {key for key, _ in cards}
    db = sqlite3.connect(tmp_path / f"v{FORMAT_VERSION}" / "usage.db")
    db.execute("DELETE FROM resolved")
    db.execute("DELETE FROM entries")
    db.commit()
    db.close()
    with Store(tmp_path) as store:
        assert store.recall(f"fp-{key}" for key, _ in cards) == {}  # without the memo: nothing known
    assert _memo_run(tmp_path, cards, tmp_path / "two") == {key for key, _ in cards}
    for key, data in cards:
        assert (tmp_path / "two" / f"{key}.png").read_bytes() == data


def test_a_stale_memo_costs_a_miss_never_a_wrong_card(tmp_path: Path) -> None:
    """A card the memo names that is gone or damaged is not served, and the next memo forgets it."""
    cards = [_blob(210 + i, 3_000) for i in range(3)]
    _cached(tmp_path, cards)
    _memo_run(tmp_path, cards, tmp_path / "one")
    files = {p.read_bytes(): p for p in _value_files(tmp_path / f"v{FORMAT_VERSION}")}
    files[cards[0][1]].unlink()
    files[cards[1][1]].chmod(0o644)
    files[cards[1][1]].write_bytes(cards[2][1])  # the right length, another card's bytes
    assert _memo_run(tmp_path, cards, tmp_path / "two") == {cards[2][0]}
    assert not (tmp_path / "two" / f"{cards[0][0]}.png").exists()
    assert not (tmp_path / "two" / f"{cards[1][0]}.png").exists()
    assert _memo_of(tmp_path).card_keys() == {cards[2][0]}


def test_prune_counts_a_memo_as_use_of_its_cards(tmp_path: Path) -> None:
    """A warm run records its use in the memo's row, not the cards' rows; prune reads both."""
    used, unused = _blob(220, 3_000), _blob(221, 3_000)
    _cached(tmp_path, [used, unused])
    _age(tmp_path, used[0], 40 * 86400)
    _age(tmp_path, unused[0], 40 * 86400)
    _memo_run(tmp_path, [used], tmp_path / "site")
    with Store(tmp_path) as store:
        assert store.prune(older_than=parse_age("30d"), dry_run=True).removed == 1
        assert store.prune(keep_builds=1).removed == 1
        assert store.get(used[0]) == used[1]
        assert store.get(unused[0]) is None


def test_cards_a_memo_no_longer_names_keep_their_use(tmp_path: Path) -> None:
    """A run that drops a card from the memo hands the memo's use to that card's own row."""
    first, second = _blob(230, 3_000), _blob(231, 3_000)
    _cached(tmp_path, [first, second])
    _memo_run(tmp_path, [first, second], tmp_path / "a", build_id="b1")
    _memo_run(tmp_path, [first], tmp_path / "b", build_id="b2")
    with Store(tmp_path) as store:
        assert store.prune(keep_builds=2, dry_run=True).removed == 0  # b1 used the second card
        assert store.prune(keep_builds=1).removed == 1
        assert store.get(first[0]) == first[1]


def test_two_runs_of_one_site_at_once_lose_no_use(tmp_path: Path) -> None:
    """Each run's memo replaces the one in the index when it closes, not the one it read at the start."""
    a, b, c, d = (_blob(240 + i, 3_000) for i in range(4))
    _cached(tmp_path, [a, b, c, d])
    _memo_run(tmp_path, [a, b, c], tmp_path / "s0", build_id="b1")
    x = Store(tmp_path, build_id="b2")
    y = Store(tmp_path, build_id="b3")
    for store, cards in ((x, [a, b, d]), (y, [b, c])):
        store.use_memo("site")
        known = store.recall(f"fp-{key}" for key, _ in cards)
        store.materialize_many((known[f"fp-{key}"][0], tmp_path / store.build_id / key) for key, _ in cards)
    x.close()
    y.close()  # its memo replaces x's, which named a and d: both keep b2's use
    with Store(tmp_path) as store:
        assert store.prune(keep_builds=2).removed == 0
        assert store.prune(keep_builds=1).removed == 2  # a and d were last used by b2
        assert [store.get(key) is not None for key, _ in (a, b, c, d)] == [False, True, True, False]


def test_prune_takes_what_it_removes_out_of_every_memo(tmp_path: Path) -> None:
    """A memo never names a card prune removed: the next run does not try a file that is gone."""
    kept, removed = _blob(250, 3_000), _blob(251, 3_000)
    _cached(tmp_path, [kept, removed])
    _memo_run(tmp_path, [kept, removed], tmp_path / "site")
    _age(tmp_path, removed[0], 40 * 86400)
    _age(tmp_path, kept[0], 40 * 86400)
    db = sqlite3.connect(tmp_path / f"v{FORMAT_VERSION}" / "usage.db")
    db.execute("UPDATE memos SET last_used = ?", (time.time() - 40 * 86400,))
    db.commit()
    db.close()
    with Store(tmp_path) as store:
        store.put(kept[0], kept[1])  # written again: used now
        assert store.prune(older_than=parse_age("30d")).removed == 1
    assert _memo_of(tmp_path).card_keys() == {kept[0]}


@pytest.mark.parametrize("later", [False, True])
def test_a_card_written_again_since_the_memo_is_still_served(tmp_path: Path, later: bool) -> None:
    """Another process wrote the same card again (a new file): the memo's file is gone, the card is not."""
    card = _blob(260, 3_000)
    _cached(tmp_path, [card])
    _memo_run(tmp_path, [card], tmp_path / "one")
    before = _value_files(tmp_path / f"v{FORMAT_VERSION}")
    with Store(tmp_path) as other:
        other.put(*card)
    assert _value_files(tmp_path / f"v{FORMAT_VERSION}") != before
    target = tmp_path / "two" / "card.png"
    with Store(tmp_path) as store:
        store.use_memo("site")
        known = store.recall([f"fp-{card[0]}"])
        assert store.materialize_many([(known[f"fp-{card[0]}"][0], target)], later=later) == {card[0]}
        if later:
            assert store.place_queued().wait() == set()
        assert store.stats().damaged == 0
    assert target.read_bytes() == card[1]
    new_file = _value_files(tmp_path / f"v{FORMAT_VERSION}")[0].relative_to(tmp_path / f"v{FORMAT_VERSION}")
    assert _memo_of(tmp_path).files[card[0]][0] == new_file.as_posix()  # (file, size, digest)


def test_get_reads_a_card_written_again_since_the_memo(tmp_path: Path) -> None:
    """One card read by key comes from where the index says it is now, memo or not."""
    card = _blob(270, 3_000)
    _cached(tmp_path, [card])
    _memo_run(tmp_path, [card], tmp_path / "one")
    with Store(tmp_path) as other:
        other.put(*card)
    with Store(tmp_path) as store:
        store.use_memo("site")
        assert store.get(card[0]) == card[1]


def test_a_run_that_used_its_memo_unchanged_still_replaces_a_newer_one(tmp_path: Path) -> None:
    """A run whose cards are exactly the memo it read must not just touch a memo another run wrote since."""
    a, b, c = (_blob(280 + i, 3_000) for i in range(3))
    _cached(tmp_path, [a, b, c])
    _memo_run(tmp_path, [a, b, c], tmp_path / "s0", build_id="b1")
    x = Store(tmp_path, build_id="b2")
    y = Store(tmp_path, build_id="b3")
    for store, cards in ((x, [a, b]), (y, [a, b, c])):
        store.use_memo("site")
        known = store.recall(f"fp-{key}" for key, _ in cards)
        store.materialize_many((known[f"fp-{key}"][0], tmp_path / store.build_id / key) for key, _ in cards)
    x.close()
    y.close()  # the same cards as the memo it read, but x replaced that memo meanwhile
    assert _memo_of(tmp_path).card_keys() == {a[0], b[0], c[0]}
    with Store(tmp_path) as store:
        assert store.prune(keep_builds=1).removed == 0  # b3 used all three
