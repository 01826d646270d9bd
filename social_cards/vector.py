"""SVG layers, rasterized by CairoSVG with access to nothing but their template folder.

CairoSVG (and the cairo library under it) loads with this module, which takes a
fifth of a second: the pool's fork server imports it once, so every worker starts
with it, and a process that draws no SVG never pays for it. Without the cairo
library the import still succeeds; only drawing an SVG layer fails, saying how to
install it.
"""

from __future__ import annotations

import functools
import io
import logging
import urllib.parse
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps

from .errors import AssetError, RenderError

__all__ = ["CAIRO_HINT", "rasterize"]

logger = logging.getLogger(__name__)

CAIRO_HINT = (
    "SVG layers need the cairo library: install it with 'apt-get install libcairo2' (Debian/Ubuntu), "
    "'dnf install cairo' (Fedora), 'brew install cairo' (macOS); or use a template without SVG layers"
)

_MEMO_ENTRIES = 32

_surface: Any = None
_missing = CAIRO_HINT
try:
    import cairosvg.surface

    _surface = cairosvg.surface
except (ImportError, OSError) as exc:  # cairocffi raises OSError when libcairo is missing
    _missing = f"{CAIRO_HINT} ({exc})"


class _Fetcher:
    """CairoSVG URL fetcher: data: URLs and files under ``root``; nothing else, ever."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def __call__(self, url: str, resource_type: str) -> bytes:
        parsed = urllib.parse.urlparse(url)
        if parsed.scheme == "data":
            from urllib.request import urlopen  # data: URLs only, and rare: imported when needed

            with urlopen(url) as response:  # noqa: S310 - data: URLs only
                return bytes(response.read())
        if parsed.scheme in ("", "file"):
            path = Path(urllib.parse.unquote(parsed.path)).resolve()
            if path.is_relative_to(self.root) and path.is_file():
                return path.read_bytes()
        logger.warning("SVG reference refused (only files in the template folder may be used): %s", url)
        return b'<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>'


@functools.lru_cache(maxsize=_MEMO_ENTRIES)
def rasterize(markup: str, source: Path, width: int, height: int) -> Image.Image:
    """``markup`` as an RGBA image of ``width`` × ``height`` (contained, centred), memoized per process.

    ``source`` is the file the markup came from: references resolve against its folder,
    and only files in that folder may be read. The result is shared: do not change it.

    Raises:
        RenderError: the cairo library is missing.
        AssetError: the markup cannot be rasterized.
    """
    if _surface is None:
        raise RenderError(_missing)
    base = source.parent
    try:
        png = _surface.PNGSurface.convert(
            bytestring=markup.encode("utf-8"),
            url=(base / "layer.svg").resolve().as_uri(),
            url_fetcher=_Fetcher(base),
            unsafe=False,
            output_width=width,
            output_height=height,
        )
    except Exception as exc:  # CairoSVG raises many kinds for bad markup
        raise AssetError(f"{source}: cannot rasterize the SVG: {exc}") from None
    image = Image.open(io.BytesIO(png)).convert("RGBA")
    if image.size != (width, height):
        image = ImageOps.pad(image, (width, height), Image.Resampling.LANCZOS, color=(0, 0, 0, 0))
    return image
