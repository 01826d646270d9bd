"""Content keys: stable, canonical, sensitive to every input that changes the picture."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from social_cards import CardInput, OutputFormat, load_template
from social_cards.fonts import BUNDLED_FONTS_DIR
from social_cards.template import Template

_text = st.text(st.characters(codec="utf-8", categories=("L", "N", "P", "Zs", "So")), min_size=1, max_size=40).filter(
    lambda s: s.strip() != ""
)


def _key(template: Template, card: CardInput, **kwargs: object) -> str:
    return template.resolve(card, **kwargs).key  # type: ignore[arg-type]


def test_key_is_32_hex_digits(default_template: Template, card: CardInput) -> None:
    """xxh3_128 written as 32 lowercase hex digits."""
    assert re.fullmatch(r"[0-9a-f]{32}", _key(default_template, card))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=_text, other=_text)
def test_title_changes_the_key(default_template: Template, title: str, other: str) -> None:
    """Different visible titles give different keys; equal ones the same key."""
    a = _key(default_template, CardInput(title))
    assert a == _key(default_template, CardInput(title))
    if " ".join(title.split()) != " ".join(other.split()):
        assert a != _key(default_template, CardInput(other))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    options=st.dictionaries(
        st.sampled_from(["accent", "text_color", "unused", "other"]),
        st.sampled_from(["#112233", "#445566", "red"]),
        min_size=1,
    )
)
def test_option_order_does_not_matter(default_template: Template, options: dict[str, str]) -> None:
    """The same options in any order give one key."""
    forward = CardInput("t", options=tuple(options.items()))
    backward = CardInput("t", options=tuple(reversed(list(options.items()))))
    assert _key(default_template, forward) == _key(default_template, backward)


def test_each_input_changes_the_key(default_template: Template, card: CardInput) -> None:
    """Title, description, a used option, site name and format each change the key."""
    base = _key(default_template, card)
    variants = [
        CardInput(card.title + "!", card.description, card.site_name, options=card.options),
        CardInput(card.title, card.description + ".", card.site_name, options=card.options),
        CardInput(card.title, card.description, card.site_name + " 2", options=card.options),
        CardInput(card.title, card.description, card.site_name, options=CardInput.options_from({"accent": "#00ff00"})),
    ]
    keys = {base, *(_key(default_template, v) for v in variants)}
    assert len(keys) == 5
    assert _key(default_template, card, output=OutputFormat.named("webp")) != base


def test_unused_variable_does_not_change_the_key(default_template: Template, card: CardInput) -> None:
    """The default template draws no tags or page URL: they leave the key alone."""
    with_extra = CardInput(
        card.title, card.description, card.site_name, page_url="https://x/y/", tags=("a", "b"), options=card.options
    )
    assert _key(default_template, card) == _key(default_template, with_extra)
    unused_option = CardInput.options_from({**dict(card.options), "not_in_template": "1"})
    # options are visible to every layer as a whole, but only used values reach the spec
    assert _key(default_template, card) == _key(
        default_template, CardInput(card.title, card.description, card.site_name, options=unused_option)
    )


def test_template_path_and_mtime_do_not_change_the_key(
    default_template: Template, card: CardInput, template_copy: Callable[[str], Path]
) -> None:
    """A copy of a template in another folder, touched, gives the same key."""
    folder = template_copy("default")
    for file in folder.iterdir():
        os.utime(file, (1_000_000, 1_000_000))
    assert _key(load_template(folder), card) == _key(default_template, card)


def test_template_file_bytes_change_the_key(card: CardInput, template_copy: Callable[[str], Path]) -> None:
    """Editing an asset of the template (even one byte) changes the key."""
    folder = template_copy("default")
    before = _key(load_template(folder), card)
    svg = folder / "glow.svg"
    svg.write_text(svg.read_text().replace('stroke-width="2"', 'stroke-width="3"'))
    assert _key(load_template(folder), card) != before


def test_font_bytes_change_the_key(card: CardInput, template_copy: Callable[[str], Path], tmp_path: Path) -> None:
    """A layer font enters the key by content: a new path in the template folder with the same bytes keeps it,
    new bytes change it."""
    folder = template_copy("default")
    layout = folder / "layout.toml"
    layout.write_text(
        layout.read_text().replace('font = "bundled:Inter-Bold.otf"', 'font = "{{ options.title_font }}"')
    )
    template = load_template(folder)
    first_path, second_path = folder / "a" / "Title.otf", folder / "b" / "Renamed.otf"
    for path in (first_path, second_path):
        path.parent.mkdir()
        shutil.copy(BUNDLED_FONTS_DIR / "Inter-Bold.otf", path)
    os.utime(second_path, (1_000_000, 1_000_000))

    def with_font(path: Path) -> CardInput:
        return CardInput(card.title, options=CardInput.options_from({"title_font": str(path)}))

    first = _key(template, with_font(first_path))
    assert _key(template, with_font(second_path)) == first
    with second_path.open("ab") as fh:
        fh.write(b"\0")
    assert _key(template, with_font(second_path)) != first


def test_key_is_the_same_in_a_new_process(default_template: Template) -> None:
    """The key does not depend on the process (no hash randomization, no ids)."""
    title = "Olá 😃 你好 مرحبا"
    code = (
        "from social_cards import CardInput, load_template;"
        f"print(load_template('default').resolve(CardInput({title!r}, site_name='S')).key)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "123"},
    )
    assert out.stdout.strip() == default_template.resolve(CardInput(title, site_name="S")).key
