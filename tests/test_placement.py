"""Placing cached cards: verified, hard-linked, in a helper process that may fail without loss."""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from pathlib import Path

import pytest
import xxhash

from social_cards.placement import Placement, Slot, place_all

# Names a page can have, and that a record format built on tabs or newlines would break.
AWKWARD = ["plain", "with space", "tab\there", "new\nline", "café ☕", "日本語", "nul-free \\ back"]


def _cards(folder: Path, count: int, size: int = 3_000, target: Callable[[int], str] = lambda i: "") -> list[Slot]:
    """Read-only value files, as the store keeps them, each with its length, digest and ``target(i)``."""
    folder.mkdir(parents=True, exist_ok=True)
    slots = []
    for i in range(count):
        data = random.Random(i).randbytes(size)
        source = folder / f"{i}.val"
        source.write_bytes(data)
        source.chmod(0o444)
        slots.append((str(source), size, xxhash.xxh3_128_hexdigest(data), target(i)))
    return slots


def _damage(slot: Slot) -> None:
    path = Path(slot[0])
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("where", ["helper", "here"])
def test_cards_are_linked_and_damage_is_reported(tmp_path: Path, where: str) -> None:
    """Intact cards become hard links at their targets, whatever their names; a flipped bit is reported, not placed."""
    slots = _cards(
        tmp_path / "cache",
        len(AWKWARD),
        target=lambda i: str(tmp_path / "site" / f"{AWKWARD[i]}-{i}" / f"{AWKWARD[i]}.png"),
    )
    _damage(slots[3])
    (tmp_path / "cache" / "gone").mkdir()
    missing: Slot = (str(tmp_path / "cache" / "gone" / "x.val"), 10, "0" * 32, str(tmp_path / "site" / "x.png"))
    slots.append(missing)
    failed = Placement(slots).wait() if where == "helper" else place_all(slots)
    assert set(failed) == {3, len(slots) - 1}
    assert failed[3][0] == "damaged" and "differ" in failed[3][1]
    assert failed[len(slots) - 1][0] == "miss"
    for i, (source, _, _, target) in enumerate(slots[:-1]):
        if i == 3:
            assert not Path(target).exists()
        else:
            assert Path(target).read_bytes() == Path(source).read_bytes()
            assert os.path.samefile(source, target)


def test_a_helper_that_dies_loses_nothing(tmp_path: Path) -> None:
    """Kill the helper at once: waiting places every card here instead, and reports the same damage."""
    slots = _cards(tmp_path / "c", 300, target=lambda i: str(tmp_path / "site" / f"{i}.png"))
    _damage(slots[7])
    placement = Placement(slots)
    assert placement._proc is not None, "the helper should have started"
    placement._proc.kill()
    failed = placement.wait()
    assert list(failed) == [7]
    placed = sorted(p.name for p in (tmp_path / "site").iterdir())
    assert placed == sorted(f"{i}.png" for i in range(300) if i != 7)


def test_placing_again_over_placed_cards_is_harmless(tmp_path: Path) -> None:
    """A second placement (a helper that died half way, then the fallback) finds its own links and keeps them."""
    slots = _cards(tmp_path / "c", 20, target=lambda i: str(tmp_path / "site" / f"{i}.png"))
    assert place_all(slots[:10]) == {}
    assert Placement(slots).wait() == {}
    assert all(os.path.samefile(source, target) for source, _, _, target in slots)


def test_a_stale_copy_at_the_target_is_replaced(tmp_path: Path) -> None:
    """A different file already at the target (an older card) is replaced by the cached one."""
    target = tmp_path / "site" / "card.png"
    (slot,) = _cards(tmp_path / "c", 1, target=lambda i: str(target))
    target.parent.mkdir()
    target.write_bytes(b"old card")
    assert place_all([slot]) == {}
    assert target.read_bytes() == Path(slot[0]).read_bytes()


def test_the_helper_reads_back_every_name_it_is_sent() -> None:
    """What the helper is sent decodes to the same slots, for any name a filesystem may hold."""
    from social_cards.placement import _decode_slots, _encode

    names = [*AWKWARD, os.fsdecode(b"undecodable \xff\xfe name")]
    slots: list[Slot] = [(f"/cache/{name}.val", i, f"{i:032x}", f"/site/{name}.png") for i, name in enumerate(names)]
    assert _decode_slots(_encode(slots)) == slots
    assert _encode(slots[-1:]).startswith(b"/cache/undecodable \xff\xfe name.val\0")
