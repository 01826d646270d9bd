"""Font coverage from cmap tables, the fallback chain, loading and digests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from social_cards import digest
from social_cards.errors import FontError
from social_cards.fonts import (
    BUNDLED_FONTS_DIR,
    FontChain,
    FontFace,
    bundled_face,
    load_font,
    system_faces,
    template_font,
)


def test_cmap_coverage_of_bundled_fonts() -> None:
    """Coverage is read from the cmap: Inter has Latin, not Arabic; Noto Arabic has Arabic."""
    inter = bundled_face("Inter-Bold.otf")
    arabic = bundled_face("NotoSansArabic-Regular.ttf")
    assert inter.covers(ord("A")) and inter.covers(ord("é")) and inter.covers(ord("Ж"))
    assert not inter.covers(ord("م"))
    assert arabic.covers(ord("م"))
    assert not arabic.covers(ord("你"))


def test_chain_prefers_primary_then_bundled() -> None:
    """Latin from the layer font, Arabic and Hebrew from the bundled faces, even without system fonts."""
    chain = FontChain.build(bundled_face("Inter-Regular.otf"), system=False)
    assert chain.faces[chain.face_for("a")].path.name == "Inter-Regular.otf"  # type: ignore[index]
    assert chain.faces[chain.face_for("م")].path.name == "NotoSansArabic-Regular.ttf"  # type: ignore[index]
    assert chain.faces[chain.face_for("ש")].path.name == "NotoSansHebrew-Regular.ttf"  # type: ignore[index]
    assert chain.face_for("\U0010fffd") is None


def test_bold_chain_uses_bold_fallbacks() -> None:
    """A bold layer falls back to bold faces."""
    chain = FontChain.build(bundled_face("Inter-Bold.otf"), bold=True, system=False)
    assert chain.faces[chain.face_for("م")].path.name == "NotoSansArabic-Bold.ttf"  # type: ignore[index]


@pytest.mark.parametrize("text", ["😃", "你", "ह"])
def test_system_fonts_cover_every_script(text: str) -> None:
    """With the README's font packages installed, emoji, CJK and Devanagari have a face."""
    chain = FontChain.build(bundled_face("Inter-Regular.otf"))
    index = chain.face_for(text)
    assert index is not None, f"no installed font covers {text!r}: install the packages the README lists"
    font, _ = load_font(chain.faces[index], 48)
    assert font.getbbox(text)[2] > 0


def test_emoji_prefers_a_colour_face() -> None:
    """Emoji presentation picks a colour face, loaded at its strike and scaled."""
    chain = FontChain.build(bundled_face("Inter-Regular.otf"))
    index = chain.face_for("👍🏽")
    assert index is not None
    face = chain.faces[index]
    assert face.is_color
    _, scale = load_font(face, 64)
    assert 0 < scale < 1


def test_system_faces_are_ordered_deterministically() -> None:
    """Discovery gives the same order every time, emoji and CJK families first."""
    first = system_faces(False)
    system_faces.cache_clear()
    assert system_faces(False) == first
    names = [f.path.name for f in first]
    if "NotoColorEmoji.ttf" in names:
        assert names.index("NotoColorEmoji.ttf") < 3


def test_missing_font_file_is_named(tmp_path: Path) -> None:
    """A missing font is an error that names the file and the bundled choices."""
    with pytest.raises(FontError, match=r"nope\.ttf.*bundled:NAME"):
        template_font("nope.ttf", tmp_path, "layer 1")


@pytest.mark.parametrize(
    "name", ["/etc/passwd", "../outside.ttf", "link.ttf", "fifo.ttf", "bundled:" + "../" * 12 + "etc/passwd"]
)
def test_a_template_font_must_be_a_regular_file_in_its_folder(tmp_path: Path, name: str) -> None:
    """Absolute paths, climbing out, a link out of the folder, a FIFO, or escaping the bundled fonts: refused,
    naming the file and never its contents."""
    import os

    folder = tmp_path / "template"
    folder.mkdir()
    shutil.copy(BUNDLED_FONTS_DIR / "Inter-Regular.otf", tmp_path / "outside.ttf")
    (folder / "link.ttf").symlink_to(tmp_path / "outside.ttf")
    os.mkfifo(folder / "fifo.ttf")
    with pytest.raises(FontError, match=r"outside|not a regular file") as err:
        template_font(name, folder, "layer 1")
    assert "root:" not in str(err.value)


def test_broken_font_file_is_named(tmp_path: Path) -> None:
    """A file that is not a font is a clear error naming it."""
    bad = tmp_path / "broken.ttf"
    bad.write_bytes(b"this is not a font at all")
    with pytest.raises(FontError, match=r"broken\.ttf"):
        FontFace(bad).covers(65)


def test_digest_memo_reads_each_file_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keying many cards reads a font once; rewriting it is noticed."""
    font = tmp_path / "Inter.otf"
    shutil.copy(BUNDLED_FONTS_DIR / "Inter-Regular.otf", font)
    opened: list[str] = []
    real_open = open

    def counting_open(path: object, *args: object, **kwargs: object) -> object:
        opened.append(str(path))
        return real_open(path, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr("builtins.open", counting_open)
    first = digest.file_digest(font)
    for _ in range(1000):
        assert digest.file_digest(font) == first
    assert opened.count(str(font.resolve())) == 1
    font.write_bytes(font.read_bytes() + b"\0")
    assert digest.file_digest(font) != first
