"""The command line, run in real processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import MULTISCRIPT_TITLE, decode, run_cli


def test_card_writes_a_card_and_prints_its_key(tmp_path: Path) -> None:
    """`card` writes a decodable PNG and prints the same key as `key`, as its last line."""
    out = tmp_path / "card.png"
    result = run_cli("card", MULTISCRIPT_TITLE, "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr
    key = result.stdout.strip().splitlines()[-1]
    assert len(key) == 32
    assert decode(out.read_bytes()).size == (1200, 630)
    assert run_cli("key", MULTISCRIPT_TITLE).stdout.strip().splitlines()[-1] == key


def test_same_card_twice_gives_identical_files(tmp_path: Path) -> None:
    """Two runs give byte-identical files."""
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    assert run_cli("card", "Same", "-o", str(a)).returncode == 0
    assert run_cli("card", "Same", "-o", str(b)).returncode == 0
    assert a.read_bytes() == b.read_bytes()


@pytest.mark.parametrize(("suffix", "magic"), [(".jpg", b"\xff\xd8"), (".webp", b"RIFF"), (".png", b"\x89PNG")])
def test_format_follows_the_output_suffix(tmp_path: Path, suffix: str, magic: bytes) -> None:
    """-o card.jpg writes JPEG, card.webp WebP."""
    out = tmp_path / f"card{suffix}"
    assert run_cli("card", "Formats", "-o", str(out)).returncode == 0
    assert out.read_bytes().startswith(magic)


def test_options_change_the_key() -> None:
    """--option reaches the template."""
    plain = run_cli("key", "T").stdout.split()[-1]
    themed = run_cli("key", "T", "--option", "accent=#ff0000").stdout.split()[-1]
    assert plain != themed


def test_templates_lists_the_builtins() -> None:
    """One template per line with its description."""
    result = run_cli("templates")
    names = [line.split()[0] for line in result.stdout.splitlines()]
    assert result.returncode == 0 and {"default", "accent", "blog"} <= set(names)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("card", "T", "--template", "nope", "-o", "x.png"), 1, "unknown template 'nope'"),
        (("card", "T"), 2, "required"),
        (("key", "T", "--option", "novalue"), 2, "KEY=VALUE"),
        (("card", "T", "--logo", "/no/such/logo.png", "-o", "x.png"), 1, "file not found"),
        (("frobnicate",), 2, "invalid choice"),
    ],
)
def test_errors_are_one_line_with_exit_codes(tmp_path: Path, args: tuple[str, ...], code: int, message: str) -> None:
    """Failures exit 1, usage errors 2, each with one clear line and no traceback."""
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == code
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_unwritable_output_is_a_clear_error(tmp_path: Path) -> None:
    """A card that cannot be written exits 1 with the path in the message."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = run_cli("card", "T", "-o", str(blocker / "card.png"))
    assert result.returncode == 1 and "cannot write" in result.stderr and "Traceback" not in result.stderr


def test_closed_pipe_is_not_an_error(tmp_path: Path) -> None:
    """`social-cards card ... | head -1`: the card is written and no error is printed."""
    out = tmp_path / "card.png"
    result = subprocess.run(
        f"{sys.executable} -m social_cards card Piped -o {out} | head -c 1",
        shell=True, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert "error" not in result.stderr
    assert decode(out.read_bytes()).size == (1200, 630)


@pytest.mark.parametrize(
    ("args", "message"),
    [(("-o", "a.gif"), ".png, .jpg or .webp"), (("--format", "jpeg", "-o", "a.png"), "make them agree")],
)
def test_the_file_name_and_the_format_agree(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    """A card is never written in one format under another's name: a usage error, nothing written."""
    result = run_cli("card", "T", *args, cwd=tmp_path)
    assert result.returncode == 2 and message in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can make a device node")
def test_a_device_or_a_link_is_never_replaced_by_a_card(tmp_path: Path) -> None:
    """`-o` a device node (root in a CI container can replace one) or a symbolic link: an error naming it, and
    the device and the link stay as they were."""
    import stat

    device = tmp_path / "null.png"
    os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    result = run_cli("card", "T", "-o", str(device), cwd=tmp_path)
    assert result.returncode == 1 and "not a regular file" in result.stderr
    assert device.is_char_device()
    target = tmp_path / "real.png"
    target.write_bytes(b"mine")
    (tmp_path / "link.png").symlink_to(target)
    result = run_cli("card", "T", "-o", str(tmp_path / "link.png"), cwd=tmp_path)
    assert result.returncode == 1 and "symbolic link" in result.stderr
    assert (tmp_path / "link.png").is_symlink() and target.read_bytes() == b"mine"


@pytest.mark.parametrize("font", ["missing.ttf", "notes.ttf", "cut.otf"])
def test_a_font_that_is_missing_or_not_a_font_is_an_error(tmp_path: Path, font: str) -> None:
    """--font must name a readable font: a missing file, a text file or a truncated font stops with the file's
    name and never echoes what the file holds."""
    from social_cards.fonts import BUNDLED_FONTS_DIR

    (tmp_path / "notes.ttf").write_text("root:secret")
    (tmp_path / "cut.otf").write_bytes((BUNDLED_FONTS_DIR / "Inter-Regular.otf").read_bytes()[:300])
    result = run_cli("card", "T", "--font", font, "-o", "x.png", cwd=tmp_path)
    assert result.returncode == 1 and font in result.stderr and "root:secret" not in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "x.png").exists()


def test_templates_name_lists_its_options_with_their_defaults() -> None:
    """`social-cards templates default` shows what can be set, and to what it is set by default."""
    result = run_cli("templates", "default")
    assert result.returncode == 0
    assert "accent" in result.stdout and "#818cf8" in result.stdout and "title_color" in result.stdout
