"""Benchmarks of the card engine (run: python -m pytest tests/benchmarks --benchmark-only)."""

from __future__ import annotations

import itertools

import pytest

from social_cards import CardInput, OutputFormat, draw, load_template
from social_cards.output import write_png
from social_cards.palette import indexed
from social_cards.renderer import _compose

WORDS = [
    "configure",
    "search",
    "plugin",
    "large",
    "sites",
    "release",
    "notes",
    "migration",
    "guide",
    "deploying",
    "with",
    "docker",
    "how",
    "we",
    "cut",
    "build",
    "times",
    "café",
    "über",
    "naïve",
    "résumé",
    "façade",
    "the",
    "and",
    "for",
    "of",
    "to",
    "in",
    "performance",
    "cache",
]


def _titles(n: int) -> list[str]:
    """Distinct titles of mixed length, so width caches do not make every call a repeat."""
    out = []
    for i in range(n):
        words = [WORDS[(i * 7 + k * 13) % len(WORDS)] for k in range(3 + i % 9)]
        out.append(" ".join(words).capitalize() + f" {i}")
    return out


@pytest.mark.parametrize("name", ["default", "accent", "blog"])
def test_draw_and_encode_one_card(benchmark: pytest.FixtureRequest, name: str) -> None:
    """Resolve, draw and encode a card (PNG); the default template's target is 10 ms on one core."""
    template = load_template(name)
    titles = itertools.cycle(_titles(500))

    def one() -> bytes:
        card = CardInput(
            next(titles), "A short description of the page", "Example Docs", date="2026-11-21", tags=("a",)
        )
        return draw(template.resolve(card))

    one()
    benchmark(one)  # type: ignore[operator]


def test_encode_png(benchmark: pytest.FixtureRequest) -> None:
    """Encoding alone, as each card pays it: its text regions mapped to the palette, zlib-ng level 3."""
    spec = load_template("default").resolve(CardInput("Encoding benchmark title", "Description", "Site"))
    canvas, changed, base = _compose(spec, OutputFormat().colors)
    assert base is not None
    benchmark(lambda: write_png(indexed(canvas, base, changed, OutputFormat().colors)))  # type: ignore[operator]


def test_key_computation(benchmark: pytest.FixtureRequest) -> None:
    """Resolve a template and compute the key, drawing nothing (what a warm build pays per page)."""
    template = load_template("default")
    titles = itertools.cycle(_titles(2000))
    benchmark(lambda: template.resolve(CardInput(next(titles), "Description", "Site")).key)  # type: ignore[operator]
