"""Memos: what one named run used, as text the next run reads back."""

from __future__ import annotations

import gc

from hypothesis import given
from hypothesis import strategies as st

from social_cards.memo import Memo

_hex = st.text("0123456789abcdef", min_size=32, max_size=32)
_card = st.tuples(_hex, st.integers(1, 5000), st.integers(1, 5000), st.integers(0, 10**9), _hex)


def _memo(cards: dict[str, tuple[str, int, int, int, str]]) -> Memo:
    memo = Memo()
    for fingerprint, (key, width, height, size, digest) in cards.items():
        memo.resolved[fingerprint] = (key, width, height)
        memo.files[key] = (f"{key[:2]}/{key[2:]}.val", size, digest)
    return memo


@given(st.dictionaries(_hex, _card, max_size=30))
def test_a_memo_reads_back_as_written(cards: dict[str, tuple[str, int, int, int, str]]) -> None:
    """Every fingerprint comes back with its key, size and file, whatever order it was added in."""
    memo = _memo(cards)
    again = Memo.decode(memo.encode())
    assert again.resolved == memo.resolved
    assert again.files == {key: memo.files[key] for key, _, _ in memo.resolved.values()}
    backwards = _memo(dict(reversed(list(cards.items()))))
    assert backwards.encode() == memo.encode()


def test_what_is_not_a_memo_reads_as_an_empty_one() -> None:
    """A damaged body, another version's or not text at all: no hints, never an error."""
    good = _memo({"f" * 32: ("a" * 32, 1200, 630, 100, "d" * 32)}).encode()
    assert Memo.decode(good).resolved
    for body in (good[:-40], good.replace(b"memo 1", b"memo 9"), b"\xff\xfe", b"", good + b"\nshort\tline"):
        assert Memo.decode(body) == Memo(), body


def test_a_card_that_cannot_be_written_as_a_line_is_left_out() -> None:
    """A file name with a tab or a line break would shift every field after it: that card is not kept."""
    memo = _memo({"f" * 32: ("a" * 32, 1200, 630, 100, "d" * 32), "e" * 32: ("b" * 32, 1, 1, 1, "c" * 32)})
    memo.files["b" * 32] = ("bad\tname.val", 1, "c" * 32)
    assert set(Memo.decode(memo.encode()).resolved) == {"f" * 32}
    memo.files["b" * 32] = ("bad\nname.val", 1, "c" * 32)
    assert set(Memo.decode(memo.encode()).resolved) == {"f" * 32}


def test_a_read_memo_leaves_the_collector_nothing_to_walk_per_card() -> None:
    """Its records are plain tuples, which a collection stops tracking; a named tuple it would walk every time."""
    cards = {f"{i:032x}": (f"{i + 1:032x}", 1200, 630, 100, "d" * 32) for i in range(100)}
    memo = Memo.decode(_memo(cards).encode())
    gc.collect()
    records = [*memo.resolved.values(), *memo.files.values()]
    assert len(records) == 200
    assert not any(gc.is_tracked(record) for record in records)
