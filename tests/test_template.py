"""Templates: loading, validation, the Jinja2 sandbox, SVG safety and file confinement."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import decode
from PIL import Image

from social_cards import AssetError, CardInput, TemplateError, builtin_templates, draw, load_template, render
from social_cards.spec import SvgLayer

LAYOUT_HEAD = 'width = 400\nheight = 210\n[[layers]]\nkind = "background"\ncolor = "#ffffff"\n'


def _template(folder: Path, layers: str, files: dict[str, str | bytes] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "layout.toml").write_text(LAYOUT_HEAD + layers)
    for name, content in (files or {}).items():
        target = folder / name
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    return folder


def test_three_builtin_templates_with_descriptions() -> None:
    """default, accent and blog ship, each described."""
    templates = builtin_templates()
    assert {"default", "accent", "blog"} <= set(templates)
    assert all(templates.values())


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        ('[[layers]]\nkind = "sparkle"\n', "unknown kind 'sparkle'"),
        ('[[layers]]\nkind = "rect"\ncolour = "red"\n', "unknown field"),
        ('[[layers]]\nkind = "rect"\nfill = "not-a-colour"\n', "expected a colour"),
        ('[[layers]]\nkind = "text"\ntext = "{{ title"\n', "Jinja2 syntax error"),
        ('[[layers]]\nkind = "text"\ntext = "x"\nsize = "big"\n', "expected a whole number"),
        ('[[layers]]\nkind = "image"\nx = 1\n', "'file' is required"),
    ],
)
def test_invalid_layouts_are_clear_errors(tmp_path: Path, layers: str, message: str) -> None:
    """A broken layout says which layer and field, and what was expected."""
    folder = _template(tmp_path / "t", layers)
    with pytest.raises(TemplateError, match=message):
        load_template(folder).resolve(CardInput("x"))


def test_unknown_template_lists_builtins() -> None:
    """An unknown name says which names exist."""
    with pytest.raises(TemplateError, match="default"):
        load_template("no-such-template")


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    """A syntax error in layout.toml names the file."""
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "layout.toml").write_text("width = = 3")
    with pytest.raises(TemplateError, match=r"layout\.toml"):
        load_template(folder)


def test_sandbox_blocks_python_internals(tmp_path: Path) -> None:
    """A layout cannot reach Python internals through Jinja2."""
    folder = _template(
        tmp_path / "t", '[[layers]]\nkind = "text"\ntext = "{{ \'\'.__class__.__mro__[1].__subclasses__() }}"\n'
    )
    with pytest.raises(TemplateError):
        load_template(folder).resolve(CardInput("x"))


def test_svg_values_are_escaped(tmp_path: Path) -> None:
    """Page text inserted into an SVG layer is XML-escaped and cannot add elements."""
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="210"><text x="10" y="50">{{ title }}</text></svg>'
    )
    folder = _template(tmp_path / "t", '[[layers]]\nkind = "svg"\nfile = "t.svg"\n', {"t.svg": svg})
    hostile = 'Tom & Jerry <3 "quoted" <image href="file:///etc/passwd"'
    spec = load_template(folder).resolve(CardInput(hostile))
    markup = next(layer for layer in spec.layers if isinstance(layer, SvgLayer)).markup
    assert "<image" not in markup
    assert "&lt;image" in markup and "Tom &amp; Jerry &lt;3" in markup
    decode(draw(spec))


def test_svg_entities_are_refused(tmp_path: Path) -> None:
    """An SVG with XML entities (external or not) is refused, not expanded."""
    svg = (
        '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/hostname">]>'
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><text>&x;</text></svg>'
    )
    folder = _template(tmp_path / "t", '[[layers]]\nkind = "svg"\nfile = "t.svg"\n', {"t.svg": svg})
    with pytest.raises(AssetError, match="cannot rasterize"):
        render(load_template(folder).resolve(CardInput("x")))


def test_svg_cannot_read_files_outside_its_folder(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """An SVG image reference outside the template folder is refused with a warning; one inside is drawn."""
    outside = tmp_path / "secret.png"
    Image.new("RGB", (10, 10), "red").save(outside)
    inside_png = tmp_path / "t" / "dot.png"
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="400" height="210">'
        f'<image x="0" y="0" width="200" height="210" xlink:href="{outside.as_uri()}"/>'
        '<image x="200" y="0" width="200" height="210" xlink:href="dot.png"/>'
        '<image x="0" y="0" width="10" height="10" xlink:href="http://example.invalid/x.png"/></svg>'
    )
    folder = _template(tmp_path / "t", '[[layers]]\nkind = "svg"\nfile = "t.svg"\n', {"t.svg": svg})
    Image.new("RGB", (10, 10), "blue").save(inside_png)
    with caplog.at_level(logging.WARNING, logger="social_cards"):
        image = render(load_template(folder).resolve(CardInput("x")))
    assert "secret.png" in caplog.text and "example.invalid" in caplog.text
    assert image.getpixel((100, 100)) == (255, 255, 255)  # the outside file was not drawn
    r, _, b = image.getpixel((300, 100))  # type: ignore[misc]
    assert b > 200 and r < 60


def test_layer_files_must_stay_in_the_template_folder(tmp_path: Path) -> None:
    """An image path escaping the template folder is an error naming it."""
    Image.new("RGB", (4, 4)).save(tmp_path / "outside.png")
    folder = _template(tmp_path / "t", '[[layers]]\nkind = "image"\nfile = "../outside.png"\n')
    with pytest.raises(AssetError, match="outside the template folder"):
        load_template(folder).resolve(CardInput("x"))


def test_configured_logo_may_live_anywhere(tmp_path: Path) -> None:
    """The logo from configuration is the one file outside the folder a layer may use."""
    logo = tmp_path / "elsewhere" / "logo.png"
    logo.parent.mkdir()
    Image.new("RGB", (32, 32), (0, 128, 0)).save(logo)
    spec = load_template("default").resolve(CardInput("x", logo=logo))
    image = render(spec)
    assert image.getpixel((112, 100)) == (0, 128, 0)


def test_images_over_the_pixel_budget_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An image larger than the pixel budget is refused before decoding."""
    monkeypatch.setattr("social_cards.renderer.MAX_IMAGE_PIXELS", 10_000)
    folder = _template(tmp_path / "t", '[[layers]]\nkind = "image"\nfile = "big.png"\n')
    Image.new("L", (200, 200)).save(folder / "big.png")
    with pytest.raises(AssetError, match="more than"):
        render(load_template(folder).resolve(CardInput("x")))


def test_missing_asset_is_named(tmp_path: Path) -> None:
    """A missing file is an error naming it."""
    folder = _template(tmp_path / "t", '[[layers]]\nkind = "svg"\nfile = "gone.svg"\n')
    with pytest.raises(AssetError, match=r"gone\.svg"):
        load_template(folder).resolve(CardInput("x"))


def test_when_skips_layers(template_copy: Callable[[str], Path]) -> None:
    """Layers with a falsy 'when' are left out (no description, no description layer)."""
    template = load_template("default")
    with_description = template.resolve(CardInput("t", description="d"))
    without = template.resolve(CardInput("t"))
    assert len(with_description.layers) == len(without.layers) + 1


def test_missing_cairo_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Without the cairo library, SVG layers fail with install instructions; others still draw."""
    from social_cards import renderer as render_module
    from social_cards import vector

    vector.rasterize.cache_clear()
    monkeypatch.setattr(vector, "_surface", None)
    monkeypatch.setattr(vector, "_missing", f"{vector.CAIRO_HINT} (no library called 'cairo-2' was found)")
    monkeypatch.setattr(render_module, "_prefix_memo", render_module._Memo(render_module._PREFIX_MEMO_ENTRIES))
    monkeypatch.setattr(render_module, "_seen_prefixes", set())
    from social_cards import RenderError

    with pytest.raises(RenderError, match="apt-get install libcairo2"):
        render(load_template("default").resolve(CardInput("x")))
    decode(draw(load_template("blog").resolve(CardInput("x"))))


def test_fingerprint_follows_every_input(tmp_path: Path) -> None:
    """Equal inputs give equal fingerprints; a change to any input (text, option, file, font, format) changes it."""
    from social_cards import OutputFormat
    from social_cards.fonts import BUNDLED_FONTS_DIR

    folder = _template(
        tmp_path / "t",
        '[[layers]]\nkind = "svg"\nfile = "a.svg"\n[[layers]]\nkind = "text"\ntext = "{{ title }}"\n',
        {"a.svg": '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>'},
    )
    card = CardInput(title="Café", tags=("a", "b"), options=(("accent", "#fff"),))
    template = load_template(folder)
    first = template.fingerprint(card)
    assert first is not None and first == load_template(folder).fingerprint(card)
    changed = {
        template.fingerprint(CardInput(title="Cafe", tags=("a", "b"), options=(("accent", "#fff"),))),
        template.fingerprint(CardInput(title="Café", tags=("a,b",), options=(("accent", "#fff"),))),
        template.fingerprint(CardInput(title="Café", tags=("a", "b"), options=(("accent", "#000"),))),
        template.fingerprint(card, output=OutputFormat.named("webp")),
        template.fingerprint(card, fonts=[BUNDLED_FONTS_DIR / "NotoSansHebrew-Regular.ttf"]),
        template.fingerprint(card, strict=True),
    }
    (folder / "a.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="5" height="5"/>')
    changed.add(load_template(folder).fingerprint(card))
    assert first not in changed and len(changed) == 7


def test_no_fingerprint_when_a_layer_picks_its_font_by_variable(tmp_path: Path) -> None:
    """Only a full resolve knows which font a templated font field names: no fingerprint, no shortcut."""
    folder = _template(tmp_path / "t", '[[layers]]\nkind = "text"\ntext = "x"\nfont = "{{ options.font }}"\n')
    assert load_template(folder).fingerprint(CardInput(title="x")) is None


@pytest.mark.parametrize(
    ("layer", "name", "content"),
    [
        ('kind = "image"\nfile = "pic.png"', "pic.png", b"not a picture"),
        ('kind = "background"\nimage = "pic.png"', "pic.png", b"\x89PNG\r\n\x1a\n truncated"),
        ('kind = "svg"\nfile = "bad.svg"', "bad.svg", b"<svg><unclosed"),
        ('kind = "image"\nfile = "bad.svg"', "bad.svg", b"\xff\xfe not xml"),
    ],
)
def test_broken_asset_is_named(tmp_path: Path, layer: str, name: str, content: bytes) -> None:
    """A picture or SVG that cannot be read is an error naming the file, not a crash."""
    folder = _template(tmp_path / "t", f"[[layers]]\n{layer}\n")
    (folder / name).write_bytes(content)
    with pytest.raises(AssetError) as err:
        render(load_template(folder).resolve(CardInput("x")))
    assert str(folder / name) in str(err.value)


def test_installed_fonts_digest_follows_the_listing_and_the_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The installed fonts enter fingerprints by fontconfig's listing and each listed file's size and time.

    fontconfig is the boundary here: the test hands the digest a listing of its own files.
    """
    from social_cards.template import fingerprint as template_module

    fonts = [tmp_path / "A.ttf", tmp_path / "B.otf"]
    for font in fonts:
        font.write_bytes(b"font bytes")
    lines = [f"{fonts[0]}\t0\tAlpha\t80", f"{fonts[1]}\t0\tBeta\t200"]
    listing = ["\n".join(lines) + "\n"]
    monkeypatch.setattr(template_module, "fontconfig_listing", lambda: listing[0])

    def digest() -> str:
        return template_module._system_fonts_digest.__wrapped__()  # type: ignore[attr-defined,no-any-return]

    first = digest()
    listing[0] = "\n".join([lines[1], lines[0], lines[1]])  # another order, a line twice: the same fonts
    assert digest() == first
    fonts[1].write_bytes(b"other font bytes")  # a font installed again, changed
    changed = digest()
    assert changed != first
    listing[0] = lines[0] + "\n" + lines[1].replace("\t0\t", "\t1\t")  # another face of the same file
    assert digest() not in {first, changed}
    listing[0] = "\n".join(lines)
    fonts[0].unlink()  # a listed file gone (fontconfig's cache is stale): it no longer counts
    gone = digest()
    assert gone not in {first, changed}
    listing[0] = "\n".join([*lines, f"{tmp_path / 'C.ttf'}\t0\tGamma\t80"])  # listed, never there
    assert digest() == gone


@pytest.mark.parametrize("entry", ["fifo", "link-to-dev-zero", "link-out"])
def test_a_template_folder_holding_a_fifo_or_a_link_out_is_refused_at_once(tmp_path: Path, entry: str) -> None:
    """Loading digests every file of the folder: a FIFO, or a link to /dev/zero or out of the folder, is an
    error naming it, found without reading it (so nothing hangs or reads without end)."""
    import os

    folder = _template(tmp_path / "t", '[[layers]]\nkind = "background"\ncolor = "#000000"\n')
    (tmp_path / "outside.txt").write_text("root:x:0:0")
    target = folder / "extra"
    if entry == "fifo":
        os.mkfifo(target)
    else:
        target.symlink_to("/dev/zero" if entry == "link-to-dev-zero" else tmp_path / "outside.txt")
    with pytest.raises(TemplateError, match=r"extra.*(not a regular file|outside)") as err:
        load_template(folder)
    assert "root:x" not in str(err.value)


@pytest.mark.parametrize("file", ["/dev/zero", "../outside.svg", "/etc/passwd"])
def test_an_svg_layer_file_outside_the_folder_is_refused_before_it_is_opened(tmp_path: Path, file: str) -> None:
    """A layer's `file` is checked for its place before anything is read: /dev/zero is never read."""
    (tmp_path / "outside.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    folder = _template(tmp_path / "t", f'[[layers]]\nkind = "svg"\nfile = "{file}"\n')
    with pytest.raises(AssetError, match="outside the template folder"):
        load_template(folder).resolve(CardInput("x"))


@pytest.mark.parametrize(
    "layer",
    ['kind = "rect"\nwidth = 40000\nheight = 40000\nfill = "#ff0000"', 'kind = "svg"\nfile = "a.svg"\nwidth = 20000'],
)
def test_a_layer_box_far_larger_than_a_card_is_refused(tmp_path: Path, layer: str) -> None:
    """A 40000-pixel rectangle or a 20000-pixel SVG box is a clear error, not gigabytes of memory."""
    svg = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'
    folder = _template(tmp_path / "t", f"[[layers]]\n{layer}\n", {"a.svg": svg})
    with pytest.raises(TemplateError, match="must lie within 8192 pixels"):
        load_template(folder).resolve(CardInput("x"))


@pytest.mark.parametrize(
    ("field", "reason"),
    [
        ("{% for a in range(99999) %}{% for b in range(99999) %}{% endfor %}{% endfor %}", "more than 100000 times"),
        ("{% for a in title %}{% for b in title %}{% for c in title %}{% endfor %}{% endfor %}{% endfor %}",
         "more than 100000 times"),
        ("{{ 'x' * 1000000000 }}", "at most 1000000 items"),
        ("{{ 9 ** 99999999 }}", "at most 64"),
        ("{{ range(10**9) | list }}", "Range too big"),
        ("{{ 1 / 0 }}", "ZeroDivisionError"),
    ],
)  # fmt: skip
def test_a_template_that_would_run_without_end_is_stopped(tmp_path: Path, field: str, reason: str) -> None:
    """Nested loops (over numbers or over the title), huge repetitions and powers, in a field or in an SVG
    file: each is an error for that card, raised at once, never a hang or all the memory."""
    svg = f'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><!-- {field} --></svg>'
    title = "long title " * 10
    folder = _template(tmp_path / "t", f'[[layers]]\nkind = "text"\ntext = "{field}"\n')
    with pytest.raises(TemplateError, match=reason):
        load_template(folder).resolve(CardInput(title))
    folder = _template(tmp_path / "s", '[[layers]]\nkind = "svg"\nfile = "a.svg"\n', {"a.svg": svg})
    with pytest.raises(TemplateError, match=reason):
        load_template(folder).resolve(CardInput(title))


@pytest.mark.parametrize("size", ["0", "-5", "[0, 40]", "2000"])
def test_a_font_size_outside_4_to_1000_pixels_is_refused(tmp_path: Path, size: str) -> None:
    """A single size and a range are held to the same bounds (a size of 0 reached Pillow and crashed it)."""
    folder = _template(tmp_path / "t", f'[[layers]]\nkind = "text"\ntext = "x"\nsize = {size}\n')
    with pytest.raises(TemplateError, match="between 4 and 1000 pixels"):
        load_template(folder).resolve(CardInput("x"))
