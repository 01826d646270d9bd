"""Drawing a :class:`~social_cards.spec.CardSpec`: Pillow for text and images, CairoSVG for SVG.

Layers before the first text layer rarely depend on the page (background, logo):
their composite is memoized by the digest of their canonical form, so a build
draws them once per process and each card starts from a copy.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import math
import threading
import urllib.parse
from collections import OrderedDict
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw

from .digest import bytes_digest
from .errors import AssetError, RenderError
from .fonts import FontChain, load_font
from .output import encode
from .spec import BackgroundLayer, Box, CardSpec, Color, ImageLayer, Layer, RectLayer, TextLayer
from .typesetter import TextStyle, typeset

__all__ = ["MAX_IMAGE_PIXELS", "draw", "render"]

logger = logging.getLogger(__name__)

MAX_IMAGE_PIXELS = 40_000_000
"""Largest image (width × height) a layer may decode; bigger ones are refused."""

_PREFIX_MEMO_ENTRIES = 8
_SVG_MEMO_ENTRIES = 32


class _Memo:
    """A small thread-safe LRU table of drawn images."""

    def __init__(self, entries: int) -> None:
        self.entries = entries
        self._table: OrderedDict[object, Image.Image] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: object) -> Image.Image | None:
        with self._lock:
            image = self._table.get(key)
            if image is not None:
                self._table.move_to_end(key)
            return image

    def put(self, key: object, image: Image.Image) -> None:
        with self._lock:
            self._table[key] = image
            while len(self._table) > self.entries:
                self._table.popitem(last=False)


_prefix_memo = _Memo(_PREFIX_MEMO_ENTRIES)
_svg_memo = _Memo(_SVG_MEMO_ENTRIES)

CAIRO_HINT = (
    "SVG layers need the cairo library: install it with 'apt-get install libcairo2' (Debian/Ubuntu), "
    "'dnf install cairo' (Fedora), 'brew install cairo' (macOS); or use a template without SVG layers"
)


@functools.lru_cache(maxsize=1)
def _cairosvg_module() -> object:
    import cairosvg.surface

    return cairosvg.surface


def _cairosvg() -> object:
    try:
        return _cairosvg_module()
    except (ImportError, OSError) as exc:
        raise RenderError(f"{CAIRO_HINT} ({exc})") from None


def draw(spec: CardSpec) -> bytes:
    """Render and encode a card: the bytes of its file."""
    return encode(render(spec), spec.output)


def render(spec: CardSpec) -> Image.Image:
    """Draw every layer of ``spec`` in order onto an RGB canvas."""
    split = next((i for i, layer in enumerate(spec.layers) if isinstance(layer, TextLayer)), len(spec.layers))
    canvas = _prefix(spec, spec.layers[:split])
    for layer in spec.layers[split:]:
        _draw_layer(canvas, layer)
    return canvas


def _prefix(spec: CardSpec, layers: tuple[Layer, ...]) -> Image.Image:
    doc = {"size": [spec.width, spec.height], "layers": [layer.canonical() for layer in layers]}
    memo_key = bytes_digest(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode())
    cached = _prefix_memo.get(memo_key)
    if cached is not None:
        return cached.copy()
    canvas = Image.new("RGB", (spec.width, spec.height), "white")
    for layer in layers:
        _draw_layer(canvas, layer)
    _prefix_memo.put(memo_key, canvas.copy())
    return canvas


def _draw_layer(canvas: Image.Image, layer: Layer) -> None:
    if isinstance(layer, TextLayer):
        _draw_text(canvas, layer)
    elif isinstance(layer, BackgroundLayer):
        _draw_background(canvas, layer)
    elif isinstance(layer, RectLayer):
        _draw_rect(canvas, layer)
    elif isinstance(layer, ImageLayer):
        _paste(
            canvas, _fit(_open_image(layer.image.path), layer.box, layer.fit), layer.box, layer.radius, layer.opacity
        )
    else:
        _paste(
            canvas,
            _rasterize_svg(layer.markup, layer.source, layer.box.width, layer.box.height),
            layer.box,
            0,
            layer.opacity,
        )


def _solid(color: Color, size: tuple[int, int]) -> Image.Image:
    return Image.new("RGBA", size, color)


def _gradient(start: Color, end: Color, angle: float, size: tuple[int, int]) -> Image.Image:
    width, height = size
    diagonal = math.ceil(math.hypot(width, height))
    # linear_gradient runs top to bottom; angle 0 runs left to right, 90 top to bottom.
    ramp = Image.linear_gradient("L").resize((diagonal, diagonal), Image.Resampling.BILINEAR)
    ramp = ramp.rotate(90 - angle, resample=Image.Resampling.BILINEAR, fillcolor=None)
    left, top = (diagonal - width) // 2, (diagonal - height) // 2
    mask = ramp.crop((left, top, left + width, top + height))
    return Image.composite(_solid(end, size), _solid(start, size), mask)


def _draw_background(canvas: Image.Image, layer: BackgroundLayer) -> None:
    size = canvas.size
    fill = (
        _solid(layer.color, size)
        if layer.gradient_to is None
        else _gradient(layer.color, layer.gradient_to, layer.angle, size)
    )
    if layer.image is not None:
        fill.alpha_composite(_fit(_open_image(layer.image.path), Box(0, 0, *size), layer.fit))
    _paste(canvas, fill, Box(0, 0, *size), 0, layer.opacity)


def _draw_rect(canvas: Image.Image, layer: RectLayer) -> None:
    box = layer.box
    overlay = Image.new("RGBA", (box.width, box.height), (0, 0, 0, 0))
    ImageDraw.Draw(overlay).rounded_rectangle(
        (0, 0, box.width - 1, box.height - 1),
        radius=layer.radius,
        fill=layer.fill,
        outline=layer.outline,
        width=layer.outline_width,
    )
    canvas.paste(overlay, (box.x, box.y), overlay)


def _open_image(path: Path) -> Image.Image:
    try:
        with Image.open(path) as probe:
            width, height = probe.size
            if width * height > MAX_IMAGE_PIXELS:
                raise AssetError(
                    f"{path}: {width}×{height} pixels is more than the {MAX_IMAGE_PIXELS:,} a layer may decode; "
                    "use a smaller image"
                )
            if probe.format not in ("PNG", "JPEG", "WEBP", "GIF"):
                raise AssetError(f"{path}: expected a PNG, JPEG or WebP image, got {probe.format}")
            probe.load()
            return probe.convert("RGBA")
    except (OSError, Image.DecompressionBombError, ValueError) as exc:
        raise AssetError(f"{path}: cannot decode the image ({exc})") from None


def _fit(image: Image.Image, box: Box, fit: str) -> Image.Image:
    size = (box.width, box.height)
    if fit == "stretch":
        return image.resize(size, Image.Resampling.LANCZOS)
    scale_w, scale_h = box.width / image.width, box.height / image.height
    scale = max(scale_w, scale_h) if fit == "cover" else min(scale_w, scale_h)
    scaled = image.resize(
        (max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.Resampling.LANCZOS
    )
    if fit == "cover":
        left, top = (scaled.width - box.width) // 2, (scaled.height - box.height) // 2
        return scaled.crop((left, top, left + box.width, top + box.height))
    out = Image.new("RGBA", size, (0, 0, 0, 0))
    out.alpha_composite(scaled, ((box.width - scaled.width) // 2, (box.height - scaled.height) // 2))
    return out


def _paste(canvas: Image.Image, image: Image.Image, box: Box, radius: int, opacity: float) -> None:
    alpha = image.getchannel("A")
    if radius > 0:
        mask = Image.new("L", image.size, 0)
        ImageDraw.Draw(mask).rounded_rectangle((0, 0, image.width - 1, image.height - 1), radius=radius, fill=255)
        alpha = ImageChops.multiply(alpha, mask)
    if opacity < 1.0:
        alpha = alpha.point(lambda v: round(v * max(0.0, opacity)))
    canvas.paste(image.convert("RGB"), (box.x, box.y), alpha)


class _Fetcher:
    """CairoSVG URL fetcher: data: URLs and files under ``root``; nothing else, ever."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def __call__(self, url: str, resource_type: str) -> bytes:
        parsed = urllib.parse.urlparse(url)
        if parsed.scheme == "data":
            from urllib.request import urlopen  # data: URLs only, rare: not worth 13 ms at every start

            with urlopen(url) as response:  # noqa: S310 - data: URLs only
                return bytes(response.read())
        if parsed.scheme in ("", "file"):
            path = Path(urllib.parse.unquote(parsed.path)).resolve()
            if path.is_relative_to(self.root) and path.is_file():
                return path.read_bytes()
        logger.warning("SVG reference refused (only files in the template folder may be used): %s", url)
        return b'<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>'


def _rasterize_svg(markup: str, source: Path, width: int, height: int) -> Image.Image:
    base = source.parent
    memo_key = (bytes_digest(markup.encode("utf-8")), str(base), width, height)
    cached = _svg_memo.get(memo_key)
    if cached is not None:
        return cached
    surface = _cairosvg()
    try:
        png = surface.PNGSurface.convert(  # type: ignore[attr-defined]
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
        image = _fit(image, Box(0, 0, width, height), "contain")
    _svg_memo.put(memo_key, image)
    return image


def _draw_text(canvas: Image.Image, layer: TextLayer) -> None:
    chain = FontChain(layer.faces)
    box = layer.box
    style = TextStyle(
        box.width, box.height, layer.max_size, layer.min_size, layer.line_height, layer.max_lines,
        layer.align, layer.valign, layer.direction,
    )  # fmt: skip
    block = typeset(layer.text, chain, style)
    opaque = layer.color[3] == 255
    # Translucent text is drawn on an overlay the size of its box (plus room for
    # ascenders and descenders), then blended once.
    pad = block.size
    left, top = max(0, box.x - pad), max(0, box.y - pad)
    right, bottom = min(canvas.width, box.x + box.width + pad), min(canvas.height, box.y + box.height + pad)
    target = canvas if opaque else Image.new("RGBA", (right - left, bottom - top), (0, 0, 0, 0))
    origin_x, origin_y = (0, 0) if opaque else (left, top)
    pen = ImageDraw.Draw(target)
    for run in block.runs:
        font, scale = load_font(chain.faces[run.face], block.size)
        x, baseline = box.x + run.x - origin_x, box.y + run.baseline - origin_y
        direction = "rtl" if run.rtl else "ltr"
        if scale == 1.0:
            pen.text(
                (x, baseline),
                run.text,
                font=font,
                fill=layer.color,
                anchor="ls",
                direction=direction,
                embedded_color=True,
            )
            continue
        # A bitmap (colour emoji) face: draw at its strike size, then scale into place.
        ascent, descent = font.getmetrics()
        strike_width = max(1, math.ceil(font.getlength(run.text, direction=direction)))
        glyphs = Image.new("RGBA", (strike_width, ascent + descent), (0, 0, 0, 0))
        ImageDraw.Draw(glyphs).text(
            (0, ascent), run.text, font=font, fill=layer.color, anchor="ls", direction=direction, embedded_color=True
        )
        scaled = glyphs.resize(
            (max(1, round(strike_width * scale)), max(1, round((ascent + descent) * scale))), Image.Resampling.LANCZOS
        )
        position = (round(x), round(baseline - ascent * scale))
        if opaque:
            canvas.paste(scaled, position, scaled)
        else:
            target.alpha_composite(scaled, (max(0, position[0]), max(0, position[1])))
    if not opaque:
        canvas.paste(target.convert("RGB"), (left, top), target)
