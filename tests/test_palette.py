"""Palette PNG cards: a background's fixed colours, and each card's own colours where its text is."""

from __future__ import annotations

import dataclasses

import pytest
from conftest import MULTISCRIPT_TITLE, mean_difference
from PIL import Image, ImageChops, ImageDraw

from social_cards import CardInput, Template, render
from social_cards.fonts import FontChain, bundled_face, load_font
from social_cards.palette import indexed, palette_base
from social_cards.renderer import _compose, _text_line
from social_cards.spec import TextLayer


def _gradient(size: tuple[int, int] = (1200, 630)) -> Image.Image:
    ramp = Image.linear_gradient("L").resize(size)
    return Image.merge("RGB", (ramp, ramp.transpose(Image.Transpose.FLIP_LEFT_RIGHT), Image.new("L", size, 90)))


@pytest.mark.parametrize(
    ("text", "face", "direction", "xy"),
    [
        ("Olá, mundo — déjà vu", "Inter-Bold.otf", "ltr", (80.0, 200.0)),
        ("Fractional pen", "Inter-Regular.otf", "ltr", (80.4, 200.6)),
        ("مرحبا بالعالم", "NotoSansArabic-Bold.ttf", "rtl", (300.25, 120.0)),
        ("Off the edge", "Inter-Bold.otf", "ltr", (-40.0, 30.0)),
    ],
)
def test_a_line_is_drawn_as_pillow_draws_it(text: str, face: str, direction: str, xy: tuple[float, float]) -> None:
    """Drawing a line of text ourselves gives Pillow's pixels, and the region it reports holds all the ink."""
    font, _ = load_font(bundled_face(face), 64)
    ours, pillows, before = _gradient((600, 240)), _gradient((600, 240)), _gradient((600, 240))
    color = (248, 250, 252, 255)
    region = _text_line(ours, font, text, xy, color, direction)
    ImageDraw.Draw(pillows).text(xy, text, font=font, fill=color, anchor="ls", direction=direction, embedded_color=True)
    assert ImageChops.difference(ours, pillows).getbbox() is None
    inked = ImageChops.difference(ours, before).getbbox()
    assert inked is not None and region is not None
    assert region[0] <= inked[0] and region[1] <= inked[1] and inked[2] <= region[2] and inked[3] <= region[3]


def test_text_layers_report_where_their_ink_is(default_template: Template) -> None:
    """Every pixel a card's text changed lies in a region the drawing reported (emoji, CJK and Arabic too)."""
    spec = default_template.resolve(CardInput(MULTISCRIPT_TITLE, "A description 🚀", "Site"))
    text_layers = [layer for layer in spec.layers if isinstance(layer, TextLayer)]
    without_text = dataclasses.replace(
        spec, layers=tuple(layer for layer in spec.layers if not isinstance(layer, TextLayer))
    )
    card, changed, _ = _compose(spec)
    assert len(changed) == len(text_layers)
    outside = ImageChops.difference(card, render(without_text))
    mask = Image.new("L", card.size, 255)
    for box in changed:
        mask.paste(0, box)
    assert ImageChops.multiply(outside.convert("L"), mask).getbbox() is None


def _indices(image: Image.Image) -> Image.Image:
    return Image.frombytes("L", image.size, image.tobytes())


def test_a_card_keeps_its_background_indices_and_maps_only_what_changed() -> None:
    """Outside the changed regions the card has the background's indices; inside, the nearest of all its colours."""
    background = _gradient()
    base = palette_base(background, 128)
    fixed = len(base.colors) // 3
    assert 1 <= fixed <= 96
    assert max(base.indices.tobytes()) == fixed - 1  # no colour the background does not use
    card = background.copy()
    chain = FontChain.build(bundled_face("Inter-Bold.otf"), bold=True)
    font, _ = load_font(chain.faces[0], 72)
    region = _text_line(card, font, "Quarter of the palette", (80.0, 300.0), (255, 200, 40, 255), "ltr")
    assert region is not None
    out = indexed(card, base, [region], 128)
    palette = out.getpalette() or []
    assert out.mode == "P" and len(palette) // 3 <= 128
    assert palette[: 3 * fixed] == base.colors
    assert max(out.tobytes()) < len(palette) // 3  # every index names a colour of the PNG's palette
    changed = ImageChops.difference(_indices(out), _indices(base.indices))
    assert changed.getbbox() is not None  # the text got indices of its own
    outside = Image.new("L", card.size, 255)
    outside.paste(0, region)
    assert ImageChops.multiply(changed, outside).getbbox() is None
    assert mean_difference(out.crop(region), card.crop(region)) < 2.0


def test_a_card_with_nothing_past_its_background_is_the_background() -> None:
    """No changed region: the background's own indices and fixed colours."""
    background = _gradient()
    base = palette_base(background, 128)
    out = indexed(background, base, [], 128)
    assert out.tobytes() == base.indices.tobytes() and out.getpalette() == base.colors
