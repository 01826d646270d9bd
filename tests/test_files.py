"""Files named by inputs (files.py): inside their folder, regular, bounded; errors never echo contents."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from social_cards.errors import AssetError
from social_cards.files import locate, picture_size, read_capped


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    inside = tmp_path / "inside"
    inside.mkdir()
    (inside / "ok.txt").write_text("fine")
    (tmp_path / "secret.txt").write_text("root:x:0:0:secret")
    (inside / "link-out").symlink_to(tmp_path / "secret.txt")
    (inside / "link-in").symlink_to(inside / "ok.txt")
    (inside / "zero").symlink_to("/dev/zero")
    os.mkfifo(inside / "fifo")
    (inside / "sub").mkdir()
    return inside


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../secret.txt", "outside"), ("link-out", "outside"), ("zero", "outside"), ("/etc/passwd", "outside"),
        ("fifo", "not a regular file"), ("sub", "not a regular file"), ("missing", "not found"), ("a\0b", "NUL"),
    ],
)  # fmt: skip
def test_only_regular_files_inside_the_folder_are_found(folder: Path, name: str, reason: str) -> None:
    """Climbing out, links out (to a file or a device), a FIFO, a folder, a missing file, a NUL: refused, with
    the reason and never the contents of what was named."""
    with pytest.raises(AssetError, match=reason) as err:
        locate(folder, name, "test", "the folder")
    assert "root:x" not in str(err.value)


def test_a_link_inside_the_folder_is_followed(folder: Path) -> None:
    assert read_capped(locate(folder, "link-in", "test"), "test") == b"fine"


def test_reading_stops_at_the_cap_and_never_blocks_on_a_fifo(folder: Path) -> None:
    """A file over the cap is refused; a FIFO opened by path is refused at once, not waited on."""
    with pytest.raises(AssetError, match="larger than 3 bytes"):
        read_capped(folder / "ok.txt", "test", max_bytes=3)
    with pytest.raises(AssetError, match="not a regular file"):
        read_capped(folder / "fifo", "test")


def test_a_picture_size_comes_from_its_header_and_text_is_no_picture(tmp_path: Path) -> None:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (640, 320)).save(buffer, "PNG")
    assert picture_size(buffer.getvalue(), "test") == (640, 320, "image/png")
    with pytest.raises(AssetError, match="not a picture"):
        picture_size(b"root:x:0:0", "test")


def test_a_name_no_file_system_can_hold_is_refused(folder: Path) -> None:
    """A lone surrogate (as a page's front matter can carry) is an error for that name, not a crash."""
    with pytest.raises(AssetError, match="cannot be a file name"):
        locate(folder, "\ud800.png", "test")
