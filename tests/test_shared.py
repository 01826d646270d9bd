"""The shared tier, against real servers on 127.0.0.1: moto's S3 server and nginx's WebDAV module."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import obstore
import pytest
from conftest import run_cli, s3_bucket, start_s3_server, stop
from PIL import Image

from social_cards.objects import claim_path, decode_object, encode_object, object_path
from social_cards.shared import SharedTier, shown_url

KEY = "0123456789abcdef0123456789abcdef"


def _jsonl(path: Path, count: int, prefix: str = "Card") -> Path:
    path.write_text("".join(json.dumps({"title": f"{prefix} number {n}", "description": "Shared"}) + "\n"
                            for n in range(count)))  # fmt: skip
    return path


def _render(source: Path, cache: Path, *extra: str, timeout: float = 300) -> dict[str, int]:
    result = subprocess.run(
        [sys.executable, "-m", "social_cards", "render", str(source), "--json", "--cache-dir", str(cache), *extra],
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    counts: dict[str, int] = json.loads(result.stdout.splitlines()[-1])
    counts["warnings"] = result.stderr.count("warning:")
    return counts


def _stats(cache: Path) -> dict[str, int]:
    result = run_cli("stats", "--json", "--cache-dir", str(cache))
    assert result.returncode == 0, result.stderr
    remote: dict[str, int] = json.loads(result.stdout)["remote"]
    return remote


def test_an_object_is_served_only_when_it_is_that_card_whole_and_signed() -> None:
    """A card's object names its key and digest; with a secret, it must carry the right signature."""
    data = b"\x89PNG card bytes"
    plain, signed = encode_object(KEY, data, None), encode_object(KEY, data, b"s3cret")
    assert decode_object(KEY, plain, None) == data
    assert decode_object(KEY, signed, b"s3cret") == data
    assert decode_object(KEY, signed, None) == data
    assert decode_object(KEY, plain, b"s3cret") is None  # unsigned, and a secret is set
    assert decode_object(KEY, signed, b"other") is None  # signed with another secret
    assert decode_object("f" * 32, plain, None) is None  # another card's object
    assert decode_object(KEY, plain[:-1], None) is None  # cut short
    assert decode_object(KEY, plain[:-1] + b"X", None) is None  # bytes replaced
    assert decode_object(KEY, data, None) is None  # not an object of ours
    assert object_path(KEY) == f"cards-v1/01/{KEY}" and claim_path(KEY) == f"claims-v1/01/{KEY}"


def test_a_url_never_carries_credentials_and_logs_never_show_them(tmp_path: Path) -> None:
    """Credentials in the URL are refused, naming the environment instead; a shown URL drops user and query."""
    assert shown_url("https://user:pw@cache.example.org:8443/p?token=x") == "https://cache.example.org:8443/p"
    result = run_cli("card", "T", "-o", str(tmp_path / "a.png"), "--remote-cache", "https://u:secretpw@h/p")
    assert result.returncode == 2 and "environment" in result.stderr and "secretpw" not in result.stderr
    result = run_cli("card", "T", "-o", str(tmp_path / "a.png"), "--remote-cache", "ftp://h/p")
    assert result.returncode == 2 and "s3://bucket/prefix" in result.stderr


def test_a_card_drawn_on_one_machine_is_served_to_another(tier: str, tmp_path: Path) -> None:
    """Two machines, two local caches, one tier: the second gets the first one's card, byte for byte."""
    first = run_cli("card", "Shared title", "-o", str(tmp_path / "a.png"), "--cache-dir", str(tmp_path / "a"),
                    "--remote-cache", tier)  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert "drawn" in first.stdout
    second = run_cli("card", "Shared title", "-o", str(tmp_path / "b.png"), "--cache-dir", str(tmp_path / "b"),
                     "--remote-cache", tier)  # fmt: skip
    assert second.returncode == 0, second.stderr
    assert "from the shared cache" in second.stdout
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    with Image.open(tmp_path / "b.png") as card:
        assert card.size == (1200, 630)
    assert _stats(tmp_path / "b")["hits"] == 1 and _stats(tmp_path / "a")["uploads"] == 1
    again = run_cli("card", "Shared title", "-o", str(tmp_path / "c.png"), "--cache-dir", str(tmp_path / "b"),
                    "--remote-cache", tier)  # fmt: skip
    assert "from the cache" in again.stdout  # backfilled: the local cache has it now


def test_four_runners_at_once_draw_each_card_about_once(tier: str, tmp_path: Path) -> None:
    """Four machines render the same cards at the same time: about one drawing per card, and a fifth draws none."""
    source = _jsonl(tmp_path / "cards.jsonl", 60)
    counts: list[dict[str, int]] = []

    def runner(n: int) -> None:
        counts.append(_render(source, tmp_path / f"cache-{n}", "--remote-cache", tier, "--workers", "1"))

    threads = [threading.Thread(target=runner, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(counts) == 4 and all(c["failed"] == 0 and c["cards"] == 60 for c in counts)
    drawn = sum(c["drawn"] for c in counts)
    assert drawn <= 75, f"four runners drew {drawn} cards for 60"
    fifth = _render(source, tmp_path / "cache-5", "--remote-cache", tier)
    assert (fifth["drawn"], fifth["remote"]) == (0, 60)


def test_a_read_only_tier_is_read_and_never_written(s3_tier: str, tmp_path: Path) -> None:
    """--remote-cache-mode read serves what is there and uploads nothing (and claims nothing)."""
    _render(_jsonl(tmp_path / "one.jsonl", 3, "Known"), tmp_path / "a", "--remote-cache", s3_tier)
    store = SharedTier(s3_tier).store
    before = sorted(meta["path"] for batch in obstore.list(store) for meta in batch)
    both = _jsonl(tmp_path / "two.jsonl", 3, "Known")
    with both.open("a") as lines:
        lines.write(json.dumps({"title": "New in a fork"}) + "\n")
    counts = _render(both, tmp_path / "b", "--remote-cache", s3_tier, "--remote-cache-mode", "read")
    assert (counts["remote"], counts["drawn"]) == (3, 1)
    assert sorted(meta["path"] for batch in obstore.list(store) for meta in batch) == before


def test_with_a_secret_a_replaced_object_is_never_served(
    tier: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A poisoned object (its bytes replaced on the server) is rejected, counted, and the card drawn here."""
    monkeypatch.setenv("SOCIAL_CARDS_REMOTE_SECRET", "team-secret")
    source = _jsonl(tmp_path / "cards.jsonl", 2)
    _render(source, tmp_path / "a", "--remote-cache", tier)
    store = SharedTier(tier).store
    keys = [run_cli("key", f"Card number {n}", "--description", "Shared").stdout.split()[-1] for n in range(2)]
    paths = [object_path(key) for key in keys]
    for path in paths:
        blob = bytes(obstore.get(store, path).bytes())
        header, _, _ = blob.partition(b"\n\x89PNG")
        obstore.put(store, path, header + b"\n" + b"\x89PNG planted picture")
    counts = _render(source, tmp_path / "b", "--remote-cache", tier)
    assert counts["remote"] == 0 and counts["drawn"] == 2
    assert _stats(tmp_path / "b")["rejected"] == len(paths)


def test_an_unsigned_object_is_never_served_when_a_secret_is_set(
    s3_tier: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Objects written without the secret (by a machine that should not write) are not served to one that has it."""
    source = _jsonl(tmp_path / "cards.jsonl", 2)
    _render(source, tmp_path / "a", "--remote-cache", s3_tier)
    monkeypatch.setenv("SOCIAL_CARDS_REMOTE_SECRET", "team-secret")
    counts = _render(source, tmp_path / "b", "--remote-cache", s3_tier)
    assert (counts["remote"], counts["drawn"]) == (0, 2)
    assert _stats(tmp_path / "b")["rejected"] == 2


def test_a_dead_or_hanging_server_costs_seconds_and_no_card(tmp_path: Path) -> None:
    """Nothing listening, or a server that never answers: every card is drawn, one warning, no hang."""
    source = _jsonl(tmp_path / "cards.jsonl", 40)
    with socket.socket() as hanging:
        hanging.bind(("127.0.0.1", 0))
        hanging.listen(100)  # accepts connections in the kernel, never answers
        port = hanging.getsockname()[1]
        for url in (f"http://127.0.0.1:{port}/cache", "http://127.0.0.1:9/cache"):
            started = time.monotonic()
            counts = _render(source, tmp_path / f"cache-{port}-{url[-12:-6]}", "--remote-cache", url, timeout=120)
            assert (counts["drawn"], counts["failed"], counts["warnings"]) == (40, 0, 1)
            assert time.monotonic() - started < 60


def test_the_server_killed_mid_build_ends_with_every_card(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The S3 server dies while a render uploads: the render ends with every card correct and one warning."""
    process, address = start_s3_server()
    try:
        url = s3_bucket(address, monkeypatch)
        source = _jsonl(tmp_path / "cards.jsonl", 150)
        killer = threading.Timer(1.5, process.kill)
        killer.start()
        counts = _render(source, tmp_path / "a", "--remote-cache", url, timeout=200)
        killer.join()
    finally:
        stop(process)
    assert (counts["cards"], counts["failed"], counts["warnings"]) == (150, 0, 1)
    for line in (tmp_path / "cards.jsonl").read_text().splitlines()[:3]:
        title = json.loads(line)["title"]
        check = run_cli("card", title, "--description", "Shared", "-o", str(tmp_path / "x.png"), "--cache-dir",
                        str(tmp_path / "a"))  # fmt: skip
        assert "from the cache" in check.stdout


def test_shards_split_a_render_into_stable_disjoint_slices(tmp_path: Path) -> None:
    """--shard K/N: the four slices together are every card once, and the same on every run."""
    source = _jsonl(tmp_path / "cards.jsonl", 40)
    made = [_render(source, tmp_path / f"cache-{k}", "--shard", f"{k}/4", "--workers", "1") for k in range(1, 5)]
    assert sum(m["cards"] for m in made) == 40 and all(m["elsewhere"] == 40 - m["cards"] for m in made)
    assert all(m["cards"] > 0 for m in made)
    again = _render(source, tmp_path / "cache-1", "--shard", "1/4")
    assert (again["cards"], again["cached"]) == (made[0]["cards"], made[0]["cards"])
    bad = run_cli("render", str(source), "--shard", "5/4")
    assert bad.returncode == 2 and "K/N" in bad.stderr


def test_prune_remote_removes_old_objects_only_when_asked(s3_tier: str, tmp_path: Path) -> None:
    """prune leaves the tier alone; prune --remote --dry-run lists; prune --remote removes by age."""
    _render(_jsonl(tmp_path / "cards.jsonl", 3), tmp_path / "a", "--remote-cache", s3_tier)
    store = SharedTier(s3_tier).store
    assert len([m for batch in obstore.list(store, prefix="cards-v1") for m in batch]) == 3
    local = run_cli("prune", "--older-than", "0s", "--cache-dir", str(tmp_path / "a"))
    assert local.returncode == 0, local.stderr
    dry = run_cli("prune", "--remote", "--remote-cache", s3_tier, "--older-than", "0s", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.count("would remove cards-v1/") == 3
    assert len([m for batch in obstore.list(store, prefix="cards-v1") for m in batch]) == 3
    done = run_cli("prune", "--remote", "--remote-cache", s3_tier, "--older-than", "0s")
    assert done.returncode == 0 and "removed 6 entries" in done.stdout  # 3 cards, and the claims that drew them
    assert [m for batch in obstore.list(store, prefix="cards-v1") for m in batch] == []
    nginx = run_cli("prune", "--remote", "--remote-cache", "http://127.0.0.1:9/x", "--older-than", "1d")
    assert nginx.returncode == 1 and "cannot list" in nginx.stderr


def test_the_plugin_reads_and_fills_the_tier(s3_tier: str, tmp_path: Path) -> None:
    """remote_cache in mkdocs.yml: a second site folder on another cache builds without drawing."""
    for name in ("one", "two"):
        docs = tmp_path / name / "docs"
        docs.mkdir(parents=True)
        (docs / "index.md").write_text("# Home\n")
        (docs / "guide.md").write_text("# A guide\n")
        (tmp_path / name / "mkdocs.yml").write_text(
            f"site_name: Shared\nsite_url: https://example.org/\nplugins:\n  - social-cards:\n"
            f"      remote_cache: {s3_tier}\n      cache_dir: cache\n"
        )
    logs = []
    for name in ("one", "two"):
        result = subprocess.run(
            [sys.executable, "-m", "mkdocs", "build"], cwd=tmp_path / name, capture_output=True, text=True,
            timeout=300, check=False, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        logs.append(result.stderr)
    assert "2 drawn" in logs[0]
    assert "2 of them shared, 0 drawn" in logs[1]
    assert "test-secret-key" not in "".join(logs)
