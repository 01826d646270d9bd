"""Drawing cards: every script, wrapping, shrink-to-fit, ellipsis, output and determinism."""

from __future__ import annotations

import dataclasses
import io
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import DATA, MULTISCRIPT_TITLE, decode, hostile_text, mean_difference
from hypothesis import HealthCheck, given, settings
from PIL import Image, ImageChops

from social_cards import CardInput, MissingGlyphError, OutputFormat, Template, draw, load_template, render
from social_cards.fonts import FontChain, bundled_face, load_font
from social_cards.spec import TextLayer
from social_cards.text import ELLIPSIS
from social_cards.typesetter import TextBlock, TextStyle, typeset

REFERENCE_CARDS = {
    "default": CardInput(
        "Getting started with the search plugin", "Indexing ten thousand pages in seconds", "Example Docs"
    ),
    "accent": CardInput("Release 2.0: faster builds", "What changed and how to upgrade", "Example Docs"),
    "material": CardInput(
        "The `Client.__init__()` method", "How to set up a client with every option it takes", "Example Docs"
    ),
    "blog": CardInput(
        "Notes from the group chat: ça marche", "A week of messages", "Example Blog", date="2026-11-21",
        authors=("Ana Lima",), tags=("python", "cards"),
    ),
}  # fmt: skip


def _chain(bold: bool = False) -> FontChain:
    return FontChain.build(bundled_face("Inter-Bold.otf" if bold else "Inter-Regular.otf"), bold=bold)


def _style(**kw: object) -> TextStyle:
    base: dict[str, object] = {"width": 1040, "height": 264, "max_size": 80, "min_size": 40, "max_lines": 3}
    base.update(kw)
    return TextStyle(**base)  # type: ignore[arg-type]


REFERENCE_CASES = ("latin", "cjk", "arabic", "long", "logo", "light", "dark")
"""Each template's pictures: its reference card, titles in other scripts, a long title, a logo, and a light
and a dark brand colour (in the options a site's theme colour fills)."""


def reference_card(name: str, case: str) -> CardInput:
    card = REFERENCE_CARDS[name]
    if case == "cjk":
        return dataclasses.replace(card, title="社交卡片：只绘制改变的卡片", description="内容哈希缓存，一万页也很快")
    if case == "arabic":
        return dataclasses.replace(
            card, title="مرحبا بالعالم: دليل البدء السريع", description="بطاقة لكل صفحة من الموقع"
        )
    if case == "long":
        title = "Configuring the search plugin, the social cards and the blog for a site of ten thousand pages"
        return dataclasses.replace(card, title=title)
    if case == "logo":
        return dataclasses.replace(card, logo=DATA / "logo.svg")
    if case in ("light", "dark"):
        brand = "#ffec3d" if case == "light" else "#1e293b"
        return dataclasses.replace(
            card, options=CardInput.options_from(dict.fromkeys(load_template(name).theme_color, brand))
        )
    return card


@pytest.mark.parametrize("case", REFERENCE_CASES)
@pytest.mark.parametrize("name", sorted(REFERENCE_CARDS))
def test_builtin_templates_match_reference_images(name: str, case: str) -> None:
    """Each built-in template draws what its reference pictures show (within a small tolerance), in every case."""
    image = decode(draw(load_template(name).resolve(reference_card(name, case))))
    assert image.size == (1200, 630)
    reference = Image.open(DATA / "reference" / f"{name}-{case}.png").convert("RGB")
    assert mean_difference(image, reference) < 1.5


def test_every_character_of_a_multiscript_title_is_drawn(default_template: Template) -> None:
    """Accents, emoji (in colour), Chinese and Arabic: each has a face, none is dropped."""
    spec = default_template.resolve(CardInput(MULTISCRIPT_TITLE), strict=True)
    title = next(layer for layer in spec.layers if isinstance(layer, TextLayer) and "mundo" in layer.text)
    assert title.text == MULTISCRIPT_TITLE
    chain = FontChain(title.faces)
    block = typeset(title.text, chain, _style(max_size=title.max_size, min_size=title.min_size))
    drawn = "".join(run.text for run in block.runs).replace(" ", "")
    assert sorted(drawn) == sorted(MULTISCRIPT_TITLE.replace(" ", ""))
    image = decode(draw(spec))
    box = title.box
    region = image.crop((box.x, box.y, box.x + box.width, box.y + box.height))
    raw = region.tobytes()
    yellow = sum(
        1 for r, g, b in zip(raw[0::3], raw[1::3], raw[2::3], strict=True) if r > 200 and 140 < g < 230 and b < 90
    )
    assert yellow > 300, "the emoji should be drawn in colour"


def test_arabic_is_shaped_and_right_to_left() -> None:
    """Arabic runs are RTL and joined: narrower than the letters drawn apart."""
    text = "مرحبا بالعالم"
    chain = _chain()
    block = typeset(text, chain, _style())
    assert block.runs and all(run.rtl for run in block.runs)
    font, _ = load_font(chain.faces[block.runs[0].face], block.size)
    isolated = sum(font.getlength(ch, direction="rtl") for ch in text)
    assert block.runs[0].width < isolated * 0.95


def test_mixed_line_is_in_visual_order() -> None:
    """In a left-to-right line, a Hebrew word sits between the Latin words around it."""
    block = typeset("Hello שלום world", _chain(), _style())
    xs = {run.text.strip(): run.x for run in block.runs}
    assert xs["Hello"] < xs["שלום"] < xs["world"]


def test_rtl_paragraph_starts_on_the_right() -> None:
    """A Hebrew title starts at the right edge; a Latin word inside keeps its place."""
    block = typeset("שלום hello עולם", _chain(), _style())
    by_text = {run.text.strip(): run for run in block.runs}
    assert by_text["עולם"].x < by_text["hello"].x < by_text["שלום"].x
    last = max(block.runs, key=lambda r: r.x + r.width)
    assert last.x + last.width == pytest.approx(1040, abs=1)


def test_cjk_wraps_between_characters() -> None:
    """Chinese without spaces wraps onto several lines, none wider than the box."""
    text = "你好世界" * 12
    block = typeset(text, _chain(), _style(max_size=60, min_size=40))
    assert block.lines >= 2
    assert {round(run.baseline) for run in block.runs}.__len__() == block.lines
    assert all(run.x + run.width <= 1040 * 1.02 for run in block.runs)


def test_a_word_longer_than_a_line_is_broken() -> None:
    """An unbreakable word is split between characters, not clipped."""
    block = typeset("Supercalifragilistic" * 4, _chain(), _style(max_lines=4))
    assert block.lines >= 2
    assert all(run.x >= 0 and run.x + run.width <= 1040 * 1.02 for run in block.runs)


def test_shrink_to_fit_and_ellipsis() -> None:
    """Short text gets the largest size, longer text a smaller one, endless text the minimum and an ellipsis."""
    chain = _chain(bold=True)
    short = typeset("Short", chain, _style())
    medium = typeset("A title that is long enough to need a smaller size to fit in three lines here", chain, _style())
    endless = typeset("word " * 400, chain, _style())
    assert short.size == 80 and not short.truncated
    assert 40 < medium.size < 80 and medium.lines <= 3
    assert endless.size == 40 and endless.truncated and endless.lines == 3
    assert endless.runs[-1].text.endswith(ELLIPSIS)


def test_missing_character_is_reported_and_left_out(
    default_template: Template, caplog: pytest.LogCaptureFixture
) -> None:
    """A character no font has is a warning by default and an error in strict mode."""
    title = "Private \U0010fffd use"
    with caplog.at_level(logging.WARNING, logger="social_cards"):
        spec = default_template.resolve(CardInput(title))
    assert "U+10FFFD" in caplog.text
    texts = [layer.text for layer in spec.layers if isinstance(layer, TextLayer)]
    assert "Private use" in texts
    decode(draw(spec))
    with pytest.raises(MissingGlyphError, match="U\\+10FFFD"):
        default_template.resolve(CardInput(title), strict=True)


def test_a_missing_character_is_reported_once_per_layer(
    default_template: Template, caplog: pytest.LogCaptureFixture
) -> None:
    """Many cards missing the same character give one warning, not one per card; a new one is reported.

    (Characters no other test uses: the template, and what it has reported, are shared.)"""
    with caplog.at_level(logging.WARNING, logger="social_cards"):
        for n in range(20):
            default_template.resolve(CardInput(f"Card {n} \U0010fff0", description=f"Also \U0010fff0 {n}"))
    first = [r.getMessage() for r in caplog.records]
    layers = {message.split(":")[0] for message in first}
    assert len(first) == len(layers) == 2, first  # the title's layer and the description's
    assert all("U+10FFF0" in message for message in first)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="social_cards"):
        default_template.resolve(CardInput("Card \U0010fff0 \U0010fff1"))
    again = [r.getMessage() for r in caplog.records]
    assert len(again) == 1 and "U+10FFF1" in again[0] and "U+10FFF0" not in again[0], again
    with pytest.raises(MissingGlyphError, match="U\\+10FFF0"):  # strict mode fails every time
        default_template.resolve(CardInput("Card \U0010fff0"), strict=True)


@pytest.mark.parametrize(
    "title",
    [
        "x" * 100_000,
        "\x00\x01\x02 control \x1b[31m",
        "lone \ud800\udfff\udc00 surrogates",
        "\u202e\u2066 bidi \u202c override",
        "👨\u200d👩\u200d👧\u200d👦" * 300,
        "{{ 7 * 7 }} {% for x in range(9999999) %}{% endfor %}",
        "<svg onload=alert(1)><text>hi</text></svg>",
        "",
        "   \u200b  ",
        "مرحبا " * 2000,
    ],
)
def test_hostile_titles_give_a_valid_card_quickly(default_template: Template, title: str) -> None:
    """Any string yields a decodable 1200x630 card in bounded time."""
    start = time.perf_counter()
    image = decode(draw(default_template.resolve(CardInput(title, description=title))))
    assert image.size == (1200, 630)
    assert time.perf_counter() - start < 10


def test_jinja_in_a_title_is_text(default_template: Template) -> None:
    """Template syntax inside page data is shown, never evaluated."""
    spec = default_template.resolve(CardInput("{{ 7 * 7 }}"))
    assert any(isinstance(layer, TextLayer) and layer.text == "{{ 7 * 7 }}" for layer in spec.layers)


@pytest.mark.parametrize("name", ["default", "accent", "blog"])
@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
def test_cards_stay_small(name: str, fmt: str) -> None:
    """Worst-case cards of every built-in template stay under 300 KB in every format."""
    card = CardInput(MULTISCRIPT_TITLE * 3, "😃🎉👍🏽 " * 30, "Site", date="2026", authors=("A",), tags=("t",))
    data = draw(load_template(name).resolve(card, output=OutputFormat.named(fmt)))
    assert len(data) < 300_000
    with Image.open(__import__("io").BytesIO(data)) as image:
        assert image.format == {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}[fmt]


def test_output_is_byte_identical_across_processes(default_template: Template) -> None:
    """The same key gives the same bytes in a fresh process."""
    card = CardInput(MULTISCRIPT_TITLE, "desc", "Site")
    here = draw(default_template.resolve(card))
    code = (
        "import sys; from social_cards import CardInput, load_template, draw;"
        f"card = CardInput({MULTISCRIPT_TITLE!r}, 'desc', 'Site');"
        "sys.stdout.buffer.write(draw(load_template('default').resolve(card)))"
    )
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, env=dict(os.environ)).stdout
    assert there == here


def test_png_cards_are_palette_pngs_of_the_drawing(default_template: Template, card: CardInput) -> None:
    """A PNG card decodes (checksums verified) to at most 128 colours that look like the drawing."""
    spec = default_template.resolve(card)
    drawn = render(spec)
    data = draw(spec)
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        assert (image.format, image.mode, image.size) == ("PNG", "P", (1200, 630))
        assert len(image.getpalette() or ()) // 3 <= 128
    assert mean_difference(decode(data), drawn) < 1.0


def test_cards_after_others_are_drawn_as_if_alone(default_template: Template, monkeypatch: pytest.MonkeyPatch) -> None:
    """Cards that start like earlier ones reuse the shared layers (the site name is drawn once) and look the same."""
    from social_cards import renderer

    monkeypatch.setattr(renderer, "_prefix_memo", renderer._Memo(renderer._PREFIX_MEMO_ENTRIES))
    monkeypatch.setattr(renderer, "_seen_prefixes", set())
    drawn_texts: list[str] = []
    draw_text = renderer._draw_text

    def counting(canvas: Image.Image, layer: TextLayer) -> renderer.Rect | None:
        drawn_texts.append(layer.text)
        return draw_text(canvas, layer)

    monkeypatch.setattr(renderer, "_draw_text", counting)
    specs = [default_template.resolve(CardInput(f"Title number {n}", site_name="Shared Site")) for n in range(3)]
    together = [render(spec) for spec in specs]
    assert drawn_texts.count("Shared Site") == 2  # the second card's composite is kept for the third
    for spec, image in zip(specs, together, strict=True):
        monkeypatch.setattr(renderer, "_prefix_memo", renderer._Memo(renderer._PREFIX_MEMO_ENTRIES))
        monkeypatch.setattr(renderer, "_seen_prefixes", set())
        assert ImageChops.difference(render(spec), image).getbbox() is None


def test_png_cards_after_others_are_the_same_bytes(default_template: Template, monkeypatch: pytest.MonkeyPatch) -> None:
    """A PNG card drawn after others (shared layers and background palette remembered) is the file it is alone."""
    from social_cards import renderer

    def forget() -> None:
        for memo in ("_prefix_memo", "_palette_memo"):
            monkeypatch.setattr(renderer, memo, renderer._Memo(renderer._PREFIX_MEMO_ENTRIES))
        monkeypatch.setattr(renderer, "_seen_prefixes", set())

    forget()
    specs = [default_template.resolve(CardInput(f"Title {n} 😃 مرحبا", site_name="Shared Site")) for n in range(4)]
    together = [draw(spec) for spec in specs]
    for spec, data in zip(specs, together, strict=True):
        forget()
        assert draw(spec) == data


def test_render_returns_rgb_canvas(default_template: Template, card: CardInput) -> None:
    """render() gives the RGB picture that draw() encodes."""
    image = render(default_template.resolve(card))
    assert image.mode == "RGB" and image.size == (1200, 630)


def regenerate_references() -> None:  # pragma: no cover - run by hand after a deliberate change
    for name in REFERENCE_CARDS:
        for case in REFERENCE_CASES:
            card = reference_card(name, case)
            (DATA / "reference" / f"{name}-{case}.png").write_bytes(draw(load_template(name).resolve(card)))


if __name__ == "__main__":  # pragma: no cover
    regenerate_references()
    print("references written to", Path(DATA))


def _any_text_gives_a_card(template: Template, title: str, description: str) -> None:
    card = CardInput(title, description=description, site_name=title[:40], tags=(description[:20],))
    assert template.fingerprint(card) is not None
    image = decode(draw(template.resolve(card)))
    assert image.size == (template.width, template.height)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=hostile_text(), description=hostile_text())
def test_any_page_text_gives_a_valid_card(default_template: Template, title: str, description: str) -> None:
    """Property (short run): whatever text a page brings, resolve and draw give a decodable card."""
    _any_text_gives_a_card(default_template, title, description)


@pytest.mark.fuzz
@pytest.mark.parametrize("name", ["default", "accent", "blog"])
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=hostile_text(), description=hostile_text())
def test_fuzz_any_page_text_gives_a_valid_card(name: str, title: str, description: str) -> None:
    """Property (long run, `-m fuzz`): the same for every built-in template."""
    _any_text_gives_a_card(load_template(name), title, description)


def _lines(block: TextBlock) -> list[str]:
    """Each line's text in left-to-right order (runs grouped by baseline)."""
    lines: dict[int, list[tuple[float, str]]] = {}
    for run in block.runs:
        lines.setdefault(round(run.baseline), []).append((run.x, run.text))
    return ["".join(text for _, text in sorted(runs)) for _, runs in sorted(lines.items())]


@pytest.mark.parametrize("width", range(240, 1040, 40))
def test_no_line_starts_with_a_dash_or_a_space(width: int) -> None:
    """Wherever the box makes a line end, a dash stays with the word before it and no line starts blank."""
    text = "Olá, mundo — release notes – version 2 - the well-known cache — 你好世界"
    for line in _lines(typeset(text, _chain(), _style(width=width, max_size=40, min_size=40, max_lines=12))):
        assert line[:1] not in ("-", "–", "—", " "), (width, line)


@pytest.mark.parametrize("width", range(200, 1040, 24))
def test_a_cjk_title_never_ends_with_one_character_alone(width: int) -> None:
    """The last line of a Chinese title holds two characters at least (one moves down from the line above)."""
    block = typeset("每个页面都有自己的社交卡片，内容哈希缓存只绘制改变的卡片", _chain(), _style(
        width=width, max_size=40, min_size=40, max_lines=12))  # fmt: skip
    lines = _lines(block)
    assert len(lines) == 1 or len(lines[-1].strip()) >= 2, (width, lines)


# Scripts written without spaces between words, each title with where its words end (in code points).
_UNSPACED = {
    "thai": ("ภาษาไทยเป็นภาษาที่สวยงามมาก", {4, 7, 11, 15, 18, 24, 27}),  # ภาษา|ไทย|เป็น|ภาษา|ที่|สวยงาม|มาก
    "lao": ("ພາສາລາວສະບາຍດີ", {4, 7, 14}),  # ພາສາ|ລາວ|ສະບາຍດີ
    "khmer": ("ខ្ញុំស្រឡាញ់ភាសាខ្មែរណាស់", {5, 12, 21, 25}),  # ខ្ញុំ|ស្រឡាញ់|ភាសាខ្មែរ|ណាស់
}


@pytest.mark.parametrize("script", sorted(_UNSPACED))
@pytest.mark.parametrize("width", range(200, 720, 40))
def test_unspaced_scripts_break_between_words(script: str, width: int) -> None:
    """Thai, Lao and Khmer lines end between words (a dictionary's), never inside a word that fits on a line."""
    text, word_ends = _UNSPACED[script]
    block = typeset(text, _chain(), _style(width=width, max_size=40, min_size=40, max_lines=20))
    ends, offset = [], 0
    for line in _lines(block):
        offset += len(line)
        ends.append(offset)
    assert "".join(_lines(block)) == text
    assert set(ends) <= word_ends, (width, _lines(block))


@pytest.mark.parametrize("name", sorted(REFERENCE_CARDS))
@pytest.mark.parametrize("brand", ["#ffec3d", "#fffbf5", "#0f172a", "#009485"])
def test_text_stays_readable_on_any_brand_colour(name: str, brand: str) -> None:
    """With a site's brand colour as the background (a light yellow, a cream, a slate, Material's teal), every
    built-in template's large text (WCAG's: 24 px, or 19 px bold) keeps 3:1 of contrast with it, other text 4.5:1."""
    from social_cards.contrast import contrast
    from social_cards.spec import BackgroundLayer

    template = load_template(name)
    options = {key: brand for key in ("brand", "brand_to", "background") if key in template.defaults}
    card = dataclasses.replace(REFERENCE_CARDS[name], options=CardInput.options_from(options))
    spec = template.resolve(card)
    ground = next(layer for layer in spec.layers if isinstance(layer, BackgroundLayer))
    grounds = [ground.color, *([ground.gradient_to] if ground.gradient_to else [])]

    def hexa(color: tuple[int, int, int, int]) -> str:
        return "#{:02x}{:02x}{:02x}".format(*color[:3])

    for layer in spec.layers:
        if isinstance(layer, TextLayer):
            # WCAG's large text: 14 pt (18.7 px) bold, or 18 pt (24 px) regular, at the smallest size it may take.
            bold = "Bold" in layer.faces[0].path.name
            needed = 3.0 if layer.min_size >= (19 if bold else 24) else 4.5
            worst = min(contrast(hexa(layer.color), hexa(g)) for g in grounds)
            assert worst >= needed, (layer.text, hexa(layer.color), worst)
