"""A printable certificate per language: the picture an EDC must carry in ``displayParameter``.

One A4-proportioned PNG (827 × 1169 pixels, A4 at 100 dpi) per language: a framed certificate in
the issuer's colour with the issuer's name (and its PNG logo, drawn as a reversed mark), the title,
the learner, the awarding bodies, the date, the EU facts (workload, EQF / QF-EHEA level,
assessment, grade, participation, quality assurance), the learning outcomes, a seal and, when a
link is given, a QR code and short link to the credential's public page. Captions come from one
message catalogue per official EU language (``captions/<code>.json``, English for any other
language); vocabulary labels are English (the offline snapshot holds English labels only). Text is
set in Noto Sans and Noto Serif (``fonts/``, SIL Open Font License, subset to Latin, Greek and
Cyrillic: every letter of the 24 official EU languages), so the page does not depend on the
machine's fonts, and the same input gives the same bytes (with the same Pillow and its bundled
FreeType).

Every issued EDC carries these pages, so rendering is on the issuing path and is built for speed.
The page is drawn in the 16 indices of a 4-bit palette PNG from the start: index 0 is paper,
1-7 a ramp from paper to ink, 8-15 a ramp from paper to the issuer's colour; the colour lives
in the palette only, so the drawn indices are the same for every issuer. Each glyph is
rasterised once per process, face, size and tone (:func:`_inked`), already blended and quantized
onto its ramp; a line is laid out by pasting these at their advances and kept (:func:`_line`),
since the credentials of one course share most of their lines. A page is the list of what it
draws; its PNG is made in bands of rows, each drawn, packed and deflated once per process for what
it draws (:func:`_png`), and the PNG container is written here. The pages of one course then
differ in the bands holding the learner's name, grade and QR code only. What it costs is in
bench/README.md ("The certificate page").

- Fast path: glyphs pasted from a per-process cache, and the PNG written here from cached
  deflated bands of rows (:func:`_png`).
- Reference: Pillow, drawing the line itself and decoding the PNG (every chunk's CRC and the
  Adler-32 checked).
- Proven by: ``tests/unit/test_edc_render.py`` (a cached line inks where Pillow's own drawing
  does; every page decodes to exactly the pixels of the page drawn whole, bands shared or not).
"""

from __future__ import annotations

import io
import json
import math
import re
import struct
import unicodedata
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import qrcode
import qrcode.base
from PIL import Image, ImageChops, ImageDraw, ImageFont

from app.credentials.microcredential import (
    IssuerProfile,
    MicroCredentialIn,
    awarding_bodies,
    format_decimal,
    pick,
)
from app.credentials.vocabularies import vocabularies
from app.resources import package_path

PAGE_SIZE = (827, 1169)
FONTS_DIR = package_path("credentials", "fonts")
CAPTIONS_DIR = package_path("credentials", "captions")
#: The faces the page uses, by role.
FACES = {
    "sans": "NotoSans-Regular.ttf",
    "sans-bold": "NotoSans-Bold.ttf",
    "serif-bold": "NotoSerif-Bold.ttf",
}
#: The 24 official languages of the EU: each has a caption catalogue.
EU_LANGUAGES = "bg cs da de el en es et fi fr ga hr hu it lt lv mt nl pl pt ro sk sl sv".split()
#: The issuer's colour when its profile names none.
DEFAULT_COLOUR = "#1f3a68"
_PAPER_RGB = (255, 255, 255)
_INK_RGB = (27, 31, 36)
_INK_LEVELS = 7
_ACCENT_LEVELS = 8
_ACCENT = 7 + _ACCENT_LEVELS
"""The palette index of the issuer's colour itself."""

# Tones: (ramp, strength). Ink ramp = indices 1-7, accent ramp = 8-15. "on-accent" tones are paper
# drawn over the full colour: on the accent ramp that is the same ramp walked down.
_TONES: dict[str, tuple[str, float]] = {
    "ink": ("ink", 1.0),
    "grey": ("ink", 0.6),
    "accent": ("accent", 1.0),
    "white": ("on-accent", 1.0),
    "pale": ("on-accent", 0.72),
}


def _ramp_index(ramp: str, fraction: float) -> int:
    """The palette index nearest ``fraction`` (0 = paper, 1 = full) along ``ramp``."""
    if ramp == "ink":
        level = round(fraction * _INK_LEVELS)
        return level
    level = round(fraction * _ACCENT_LEVELS)
    return 0 if level == 0 else 7 + level


@cache
def _tone_indices(tone: str) -> tuple[int, ...]:
    """The palette index of ``tone`` at each coverage 0-255 (index 0: the background)."""
    ramp, strength = _TONES[tone]
    if ramp == "on-accent":
        return tuple(_ramp_index("accent", 1 - strength * c / 255) for c in range(256))
    return tuple(_ramp_index(ramp, strength * c / 255) for c in range(256))


def palette(colour: str) -> bytes:
    """The 16 RGB entries of a page in the issuer's ``colour`` (``#rrggbb``)."""
    accent = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    entries: list[tuple[int, ...]] = [_PAPER_RGB]
    for level in range(1, _INK_LEVELS + 1):
        entries.append(_blend(_INK_RGB, level / _INK_LEVELS))
    for level in range(1, _ACCENT_LEVELS + 1):
        entries.append(_blend(accent, level / _ACCENT_LEVELS))
    return bytes(v for entry in entries for v in entry)


def _blend(rgb: tuple[int, ...], fraction: float) -> tuple[int, ...]:
    return tuple(round(p + (c - p) * fraction) for p, c in zip(_PAPER_RGB, rgb, strict=True))


@cache
def _font(face: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(
        str(FONTS_DIR / FACES[face]), size, layout_engine=ImageFont.Layout.BASIC
    )


@cache
def captions(language: str) -> Mapping[str, str]:
    """The caption catalogue of ``language`` (an ISO 639-1 code), English for any other."""
    code = language.lower() if language.lower() in EU_LANGUAGES else "en"
    loaded: dict[str, str] = json.loads((CAPTIONS_DIR / f"{code}.json").read_text("utf-8"))
    return loaded


@dataclass(frozen=True)
class _Glyph:
    advance: float
    offset: tuple[int, int]
    """Where the mask's top-left corner goes, relative to the pen (left, ascender line)."""
    mask: Image.Image | None
    """Coverage (0–255) of the glyph's box; None for a blank glyph such as a space."""


@lru_cache(maxsize=8192)
def _glyph(face: str, size: int, char: str) -> _Glyph:
    font = _font(face, size)
    left, top, right, bottom = (int(v) for v in font.getbbox(char))
    mask = None
    if right > left and bottom > top:
        mask = Image.new("L", (right - left, bottom - top), 0)
        ImageDraw.Draw(mask).text((-left, -top), char, font=font, fill=255)
    return _Glyph(font.getlength(char), (left, top), mask)


@dataclass(frozen=True)
class _Inked:
    """A glyph or line in one tone, ready to paste onto the page: palette indices and where."""

    advance: float
    box: tuple[int, int, int, int] | None
    """The box relative to the pen; None when no pixel differs from the background."""
    indices: Any = None
    """The palette indices of the box (Pillow's core image, as ``Image.im`` gives it)."""
    ink: Any = None
    """1 where a pixel differs from the tone's background: only those are pasted (core image)."""

    def paste(self, page: Any, x: int, y: int) -> None:
        """Paste onto ``page``, a core image (the call ``Image.paste`` ends in, without its
        per-call argument checks: a page pastes a few thousand glyphs)."""
        if self.box is not None:
            left, top, right, bottom = self.box
            page.paste(self.indices, (x + left, y + top, x + right, y + bottom), self.ink)


@lru_cache(maxsize=8192)
def _inked(face: str, size: int, char: str, tone: str) -> _Inked:
    glyph = _glyph(face, size, char)
    indices = _tone_indices(tone)
    background = indices[0]
    if glyph.mask is None or all(index == background for index in indices[1:]):
        return _Inked(glyph.advance, None)
    width, height = glyph.mask.size
    left, top = glyph.offset
    return _Inked(
        glyph.advance,
        (left, top, left + width, top + height),
        glyph.mask.point(list(indices)).im,
        glyph.mask.point([0 if index == background else 255 for index in indices], "1").im,
    )


@lru_cache(maxsize=512)
def _line(text: str, face: str, size: int, tone: str) -> _Inked:
    """One line in one tone, laid out once from the glyph cache: the credentials of one course
    repeat most of their lines."""
    placed = []
    pen = 0.0
    for char in text:
        glyph = _inked(face, size, char, tone)
        if glyph.box is not None:
            placed.append((glyph.box, round(pen), glyph))
        pen += glyph.advance
    if not placed:
        return _Inked(pen, None)
    left = min(box[0] + x for box, x, _ in placed)
    top = min(box[1] for box, _, _ in placed)
    right = max(box[2] + x for box, x, _ in placed)
    bottom = max(box[3] for box, _, _ in placed)
    strip = Image.new("L", (right - left, bottom - top), _tone_indices(tone)[0])
    ink = Image.new("1", strip.size, 0)
    for box, x, glyph in placed:
        glyph.paste(strip.im, x - left, -top)
        ink.im.paste(
            255, (x - left + box[0], box[1] - top, x - left + box[2], box[3] - top), glyph.ink
        )
    return _Inked(pen, (left, top, right, bottom), strip.im, ink.im)


def _width(text: str, face: str, size: int) -> float:
    return sum(_glyph(face, size, char).advance for char in text)


@lru_cache(maxsize=512)
def _wrap(text: str, face: str, size: int, width: int) -> tuple[str, ...]:
    """Greedy word wrap at ``width`` pixels; words wider than the line are cut."""
    space = _width(" ", face, size)
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line, line_width = "", 0.0
        for word in paragraph.split():
            word_width = _width(word, face, size)
            if line and line_width + space + word_width <= width:
                line, line_width = f"{line} {word}", line_width + space + word_width
                continue
            if line:
                lines.append(line)
            while word_width > width:
                cut, cut_width = 0, 0.0
                while cut < len(word) - 1:
                    advance = _glyph(face, size, word[cut]).advance
                    if cut and cut_width + advance > width:
                        break
                    cut, cut_width = cut + 1, cut_width + advance
                lines.append(word[:cut])
                word, word_width = word[cut:], word_width - cut_width
            line, line_width = word, word_width
        lines.append(line)
    return tuple(lines)


# QR code: error correction M, one fixed mask pattern. Any of the eight masks gives a valid
# code; choosing the one of least penalty (qrcode's default) costs ten times more or so than a
# fixed one in a known version with our Reed-Solomon step (bench/README.md), and a test decodes
# the page's code with zbar.
QR_MASK = 2
QR_MODULE = 3
"""Pixels per QR module (0.76 mm at 100 dpi)."""


@lru_cache(maxsize=64)
def qr_rows(link: str) -> tuple[str, ...]:
    """The modules of the QR code of ``link``, a row per string ("1" dark), without border."""
    data = link.encode("utf-8")
    version = _qr_version(len(data))
    code = qrcode.QRCode(
        version=version,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        border=0,
        mask_pattern=QR_MASK,
    )
    code.add_data(data, optimize=0)
    # qrcode places these codewords as its own; its Reed-Solomon step is half of its time. A test
    # compares the result with qrcode's own for many links.
    code.data_cache = qr_codewords(version, data)
    code.make(fit=False)
    return tuple("".join("1" if dark else "0" for dark in row) for row in code.get_matrix())


#: GF(256) over x^8 + x^4 + x^3 + x^2 + 1 (ISO/IEC 18004 8.5.2): powers of 2 and their logs.
_EXP = [0] * 512
_LOG = [0] * 256
_value = 1
for _power in range(255):
    _EXP[_power] = _value
    _LOG[_value] = _power
    _value <<= 1
    if _value & 0x100:
        _value ^= 0x11D
for _power in range(255, 512):
    _EXP[_power] = _EXP[_power - 255]


@lru_cache(maxsize=16)
def _generator(degree: int) -> tuple[int, ...]:
    """The Reed-Solomon generator polynomial of ``degree`` (coefficients, highest first)."""
    poly = [1]
    for i in range(degree):
        # poly * (x - 2^i): in GF(256) minus is plus.
        nxt = [*poly, 0]
        for j, coefficient in enumerate(poly):
            if coefficient:
                nxt[j + 1] ^= _EXP[_LOG[coefficient] + i]
        poly = nxt
    return tuple(poly)


def _error_codewords(data: list[int], degree: int) -> list[int]:
    generator = _generator(degree)
    logs = [_LOG[c] for c in generator[1:]]
    remainder = [0] * degree
    for byte in data:
        factor = byte ^ remainder[0]
        remainder = remainder[1:] + [0]
        if factor:
            shift = _LOG[factor]
            for k, log in enumerate(logs):
                remainder[k] ^= _EXP[log + shift]
    return remainder


def qr_codewords(version: int, data: bytes) -> list[int]:
    """The codewords (data and error correction, interleaved) of ``data`` as one byte-mode
    segment at error correction level M in ``version`` (ISO/IEC 18004 7.4, 7.5, 7.6)."""
    blocks = qrcode.base.rs_blocks(version, qrcode.constants.ERROR_CORRECT_M)
    capacity = sum(block.data_count for block in blocks)
    length_bits = 8 if version < 10 else 16
    bits = (0b0100 << length_bits | len(data)) << 8 * len(data) | int.from_bytes(data, "big")
    size = 4 + length_bits + 8 * len(data)
    if size > capacity * 8:
        raise ValueError(f"{len(data)} bytes do not fit a version {version} QR code")
    terminator = min(4, capacity * 8 - size)
    bits, size = bits << terminator, size + terminator
    bits, size = bits << (-size % 8), size + (-size % 8)
    stream = list(bits.to_bytes(size // 8, "big"))
    stream += [0xEC, 0x11] * ((capacity - len(stream)) // 2 + 1)
    stream = stream[:capacity]
    data_blocks, error_blocks, offset = [], [], 0
    for block in blocks:
        chunk = stream[offset : offset + block.data_count]
        offset += block.data_count
        data_blocks.append(chunk)
        error_blocks.append(_error_codewords(chunk, block.total_count - block.data_count))
    interleaved = []
    for group in (data_blocks, error_blocks):
        for i in range(max(len(b) for b in group)):
            interleaved += [b[i] for b in group if i < len(b)]
    return interleaved


@lru_cache(maxsize=64)
def _qr_version(length: int) -> int:
    """The smallest QR version that holds ``length`` bytes (one byte-mode segment): the same
    for every link of one service, so fitted once (fitting costs a third of a code)."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    code.add_data(b"\0" * length, optimize=0)
    version: int = code.best_fit()
    return version


@lru_cache(maxsize=64)
def _qr_image(rows: tuple[str, ...], module: int) -> Any:
    side = len(rows)
    data = bytes(_INK_LEVELS if dark == "1" else 0 for row in rows for dark in row)
    small = Image.frombytes("L", (side, side), data)
    return small.resize((side * module, side * module), Image.Resampling.NEAREST).im


SEAL_SIZE = 124
LOGO_SIZE = 120
"""The box the issuer's logo is fitted into, in the header (pixels)."""


@lru_cache(maxsize=32)
def _logo_image(data: bytes) -> Any:
    """The issuer's PNG logo as a reversed mark on the header: its dark, opaque parts in paper
    white over the issuer's colour (the page has 16 colours, all ramps of paper, ink and the
    issuer's colour), fitted into :data:`LOGO_SIZE` and centred."""
    with Image.open(io.BytesIO(data), formats=["PNG"]) as opened:
        logo = opened.convert("RGBA")
    logo.thumbnail((LOGO_SIZE, LOGO_SIZE), Image.Resampling.LANCZOS)
    alpha = logo.getchannel("A")
    darkness = logo.convert("L").point(lambda v: 255 - v)
    coverage = ImageChops.multiply(alpha, darkness)
    box = Image.new("L", (LOGO_SIZE, LOGO_SIZE), 0)
    box.paste(coverage, ((LOGO_SIZE - logo.width) // 2, (LOGO_SIZE - logo.height) // 2))
    return box.point(list(_tone_indices("white"))).im


@lru_cache(maxsize=64)
def _seal_image(initials: str) -> Any:
    """A rosette in the issuer's colour with the issuer's initials, drawn at 4× and reduced."""
    scale = 4
    side = SEAL_SIZE * scale
    centre = side / 2
    canvas = Image.new("L", (side, side), 0)
    draw = ImageDraw.Draw(canvas)

    points = []
    teeth = 40
    for i in range(teeth * 2):
        radius = centre - 1 if i % 2 == 0 else centre * 0.9
        angle = math.pi * i / teeth
        points.append((centre + radius * math.sin(angle), centre - radius * math.cos(angle)))
    draw.polygon(points, fill=255)
    ring = centre * 0.76
    draw.ellipse(
        (centre - ring, centre - ring, centre + ring, centre + ring), outline=0, width=2 * scale
    )
    if initials:
        font = _font("serif-bold", 30 * scale)
        left, top, right, bottom = font.getbbox(initials)
        draw.text(
            (centre - (left + right) / 2, centre - (top + bottom) / 2), initials, font=font, fill=0
        )
    reduced = canvas.resize((SEAL_SIZE, SEAL_SIZE), Image.Resampling.BOX)
    return reduced.point([_ramp_index("accent", v / 255) for v in range(256)]).im


def _initials(name: str) -> str:
    words = [word for word in re.split(r"[\s\-]+", name) if word[:1].isupper()]
    return "".join(word[0] for word in words[:3])


#: What a page draws, in order: a line (``"t", x, y, text, face, size, tone``), a filled box
#: (``"f", x0, y0, x1, y1, index``, x1 and y1 excluded), a QR code (``"q", x, y, rows``), the
#: issuer's logo (``"l", x, y, png``) or the seal (``"s", x, y, initials``).
_Op = tuple[Any, ...]


class _Page:
    """A page as the list of what it draws (:data:`_Op`). The PNG is made band by band from
    that list (:func:`_png`), and :attr:`image` draws it whole."""

    def __init__(self, colour: str = DEFAULT_COLOUR) -> None:
        self.ops: list[tuple[int, int, _Op]] = []  # (first row, last row + 1, op)
        self.colour = colour

    def write(self, xy: tuple[int, int], text: str, face: str, size: int, tone: str) -> None:
        """Draw one line with its pen's top-left at ``xy``."""
        box = _line(text, face, size, tone).box
        if box is not None:
            x, y = xy
            self.ops.append((y + box[1], y + box[3], ("t", x, y, text, face, size, tone)))

    def fill(self, x0: int, y0: int, x1: int, y1: int, index: int) -> None:
        self.ops.append((y0, y1, ("f", x0, y0, x1, y1, index)))

    def qr(self, x: int, y: int, link: str) -> int:
        rows = qr_rows(link)
        side = len(rows) * QR_MODULE
        self.ops.append((y, y + side, ("q", x, y, rows)))
        return side

    def seal(self, x: int, y: int, initials: str) -> None:
        self.ops.append((y, y + SEAL_SIZE, ("s", x, y, initials)))

    def logo(self, x: int, y: int, png: bytes) -> None:
        self.ops.append((y, y + LOGO_SIZE, ("l", x, y, png)))

    def block(
        self,
        x: int,
        y: int,
        width: int,
        text: str,
        face: str,
        size: int,
        tone: str,
        *,
        leading: int,
        max_lines: int = 99,
        align: str = "left",
    ) -> int:
        """Wrap ``text`` into ``width`` from ``(x, y)``; the y below it. Lines past
        ``max_lines`` are cut, the last one shown ending in an ellipsis."""
        lines = list(_wrap(unicodedata.normalize("NFC", text), face, size, width))
        if len(lines) > max_lines:
            lines = lines[:max_lines]
            lines[-1] = _ellipsis(lines[-1], face, size, width)
        for line in lines:
            advance = _line(line, face, size, tone).advance
            left = x
            if align == "centre":
                left = x + round((width - advance) / 2)
            elif align == "right":
                left = x + round(width - advance)
            self.write((left, y), line, face, size, tone)
            y += leading
        return y

    @property
    def texts(self) -> list[str]:
        """Every line of text the page draws, in order."""
        return [op[3] for _, _, op in self.ops if op[0] == "t"]

    @property
    def image(self) -> Image.Image:
        """The whole page drawn (palette indices, the page's palette)."""
        image = Image.new("P", PAGE_SIZE, 0)
        image.putpalette(palette(self.colour))
        for _, _, op in self.ops:
            _draw(image.im, op, 0, 0)
        return image

    def png(self) -> bytes:
        """The page as a 4-bit palette PNG (see :func:`_png`)."""
        return _png(self.ops, palette(self.colour))


def _ellipsis(line: str, face: str, size: int, width: int) -> str:
    while line and _width(line + " …", face, size) > width:
        line = line[:-1]
    return line.rstrip() + " …"


def _draw(canvas: Any, op: _Op, dx: int, dy: int) -> None:
    """Draw ``op`` onto ``canvas`` (a core image) moved by ``dx``, ``dy``; Pillow clips."""
    kind = op[0]
    if kind == "t":
        _, x, y, text, face, size, tone = op
        _line(text, face, size, tone).paste(canvas, x + dx, y + dy)
    elif kind == "f":
        _, x0, y0, x1, y1, index = op
        canvas.paste(index, (x0 + dx, y0 + dy, x1 + dx, y1 + dy))
    elif kind == "q":
        _, x, y, rows = op
        image = _qr_image(rows, QR_MODULE)
        width, height = image.size
        canvas.paste(image, (x + dx, y + dy, x + dx + width, y + dy + height))
    elif kind == "l":
        _, x, y, png = op
        image = _logo_image(png)
        canvas.paste(image, (x + dx, y + dy, x + dx + LOGO_SIZE, y + dy + LOGO_SIZE))
    else:
        _, x, y, initials = op
        image = _seal_image(initials)
        canvas.paste(image, (x + dx, y + dy, x + dx + SEAL_SIZE, y + dy + SEAL_SIZE))


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


#: Rows per band of the PNG's pixel data, made and deflated on its own (see :func:`_png`).
BAND_ROWS = 32
#: Bands kept (:func:`_band`), by what they draw.
BANDS_KEPT = 4096
#: The zlib header of a level-1 stream, and the final (empty) deflate block.
_ZLIB_HEADER = b"\x78\x01"
_FINAL_BLOCK = zlib.compressobj(1, zlib.DEFLATED, -15).flush()
_ADLER_BASE = 65521


def adler32_combine(first: int, second: int, second_length: int) -> int:
    """The Adler-32 of two byte strings one after the other, from theirs (zlib's
    ``adler32_combine``, which Python's zlib module does not expose)."""
    remainder = second_length % _ADLER_BASE
    low = first & 0xFFFF
    high = (remainder * low) % _ADLER_BASE
    low = (low + (second & 0xFFFF) + _ADLER_BASE - 1) % _ADLER_BASE
    high = (high + (first >> 16) + (second >> 16) + _ADLER_BASE - remainder) % _ADLER_BASE
    return low | (high << 16)


@lru_cache(maxsize=BANDS_KEPT)
def _band(rows: int, ops: tuple[_Op, ...]) -> tuple[bytes, int, int]:
    """``rows`` rows drawing ``ops`` (placed relative to the band's top), once per process for
    what they draw: packed two pixels wider, the two on the left in index 0 (each row then
    starts with a zero byte, its PNG filter byte), deflated as raw deflate ending on a full flush
    (its bytes depend on nothing before it); with their Adler-32 and length."""
    canvas = Image.new("P", (PAGE_SIZE[0] + 2, rows), 0)
    for op in ops:
        _draw(canvas.im, op, 2, 0)
    canvas.im.paste(0, (0, 0, 2, rows))
    raw = canvas.tobytes("raw", "P;4")
    compressor = zlib.compressobj(1, zlib.DEFLATED, -15)
    deflated = compressor.compress(raw) + compressor.flush(zlib.Z_FULL_FLUSH)
    return deflated, zlib.adler32(raw), len(raw)


def _png(ops: list[tuple[int, int, _Op]], colours: bytes) -> bytes:
    """The page drawing ``ops`` as a 4-bit palette PNG with the palette ``colours``.

    Only the PNG container is written here (PNG 3rd edition: IHDR, PLTE, IDAT with filter type 0
    on every row, IEND). The rows are made in bands of :data:`BAND_ROWS`, and a band is drawn,
    packed by Pillow (``P;4``) and deflated once per process for what it draws: the pages of one
    course share all their bands but those holding the learner's name, grade or QR code, and
    every blank band is one band. One zlib stream holds the bands in order and the Adler-32 of
    all rows, combined from the bands'. A test decodes the result with Pillow, which checks every
    chunk's CRC and the Adler-32, and compares every pixel with the page drawn whole.
    """
    width, height = PAGE_SIZE
    parts = [_ZLIB_HEADER]
    adler = 1  # of no bytes
    bands = -(-height // BAND_ROWS)
    # Each op in the bands it touches, in drawing order (one pass, not one per band).
    touching: list[list[_Op]] = [[] for _ in range(bands)]
    for first, last, op in ops:
        for band in range(max(first, 0) // BAND_ROWS, min(last - 1, height - 1) // BAND_ROWS + 1):
            touching[band].append(op)
    for band in range(bands):
        top = band * BAND_ROWS
        rows = min(BAND_ROWS, height - top)
        # What the band draws, placed relative to its top: equal bands anywhere share one entry.
        drawn = tuple(_moved(op, top) for op in touching[band])
        deflated, band_adler, length = _band(rows, drawn)
        parts.append(deflated)
        adler = adler32_combine(adler, band_adler, length)
    parts += (_FINAL_BLOCK, struct.pack(">I", adler))
    header = struct.pack(">IIBBBBB", width, height, 4, 3, 0, 0, 0)  # 4 bits, palette
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            _chunk(b"IHDR", header),
            _chunk(b"PLTE", colours),
            _chunk(b"IDAT", b"".join(parts)),
            _chunk(b"IEND", b""),
        )
    )


def _moved(op: _Op, top: int) -> _Op:
    if op[0] == "f":
        _, x0, y0, x1, y1, index = op
        return ("f", x0, y0 - top, x1, y1 - top, index)
    return (op[0], op[1], op[2] - top, *op[3:])


# ---------------------------------------------------------------------------------------------
# The certificate


def _learner_name(mc: MicroCredentialIn) -> str:
    learner = mc.learner
    if learner.full_name:
        return learner.full_name
    if learner.identifier is not None:
        return f"{learner.identifier.scheme} {learner.identifier.value}"
    return learner.email or learner.id or ""


def _label(uri: str) -> str:
    concept = vocabularies().by_uri(uri)
    label = concept.pref_label if concept else uri
    return label[:1].upper() + label[1:]


def distinct(parts: Iterable[str | None]) -> list[str]:
    """``parts`` without empty ones and without any part another part already says (the same
    words, or contained in a longer part), compared case-insensitively: no "Written
    examination · written examination"."""
    given = [part.strip() for part in parts if part and part.strip()]
    folded = [part.casefold() for part in given]
    kept = []
    for i, part in enumerate(given):
        said_elsewhere = any(
            j != i and folded[i] in folded[j] and (folded[i] != folded[j] or j < i)
            for j in range(len(given))
        )
        if not said_elsewhere:
            kept.append(part)
    return kept


def _join(parts: Iterable[str | None]) -> str:
    return " · ".join(distinct(parts))


def certificate_facts(
    mc: MicroCredentialIn, issuer: IssuerProfile, language: str
) -> list[tuple[str, str]]:
    """The facts the certificate lists, as (caption, value) in ``language``."""
    text = captions(language)
    country = vocabularies().scheme("country")
    bodies = awarding_bodies(mc, issuer)
    facts = [
        (
            text["awarding_body"],
            "; ".join(
                f"{pick(body.name, language)} ({country.lookup(body.country).pref_label})"
                for body in bodies
            ),
        )
    ]
    if not any(body.is_issuer for body in bodies):
        facts.append((text["issuer"], pick(issuer.name, language)))
    facts.append((text["date_of_award"], mc.awardedOn.isoformat()))
    if mc.validUntil is not None:
        facts.append((text["valid_until"], mc.validUntil.date().isoformat()))
    workload = mc.workload
    facts.append(
        (
            text["workload"],
            _join(
                [
                    f"{format_decimal(workload.ects)} ECTS" if workload.ects else None,
                    f"{format_decimal(workload.hours)} h" if workload.hours else None,
                ]
            ),
        )
    )
    if mc.eqfLevel is not None or mc.qfEheaCycle is not None:
        facts.append(
            (
                text["level"],
                _join(
                    [
                        text["eqf"].format(n=mc.eqfLevel) if mc.eqfLevel is not None else None,
                        text[f"qf_{mc.qfEheaCycle}"] if mc.qfEheaCycle else None,
                    ]
                ),
            )
        )
    assessment = mc.assessment
    facts.append(
        (
            text["assessment"],
            _join(
                [
                    pick(assessment.title, language) if assessment.title else None,
                    _label(assessment.type),
                ]
            ),
        )
    )
    if mc.grade:
        facts.append((text["grade"], mc.grade))
    participation = mc.participation
    facts.append(
        (
            text["participation"],
            _join(
                [
                    _label(participation.mode),
                    _label(participation.setting) if participation.setting else None,
                ]
            ),
        )
    )
    qa = mc.qualityAssurance
    facts.append(
        (
            text["quality_assurance"],
            _join(
                [
                    _label(qa.type),
                    pick(qa.title, language) if qa.title else None,
                    pick(qa.agency.name, language) if qa.agency else None,
                ]
            ),
        )
    )
    return facts


# Layout (pixels at 100 dpi).
_WIDTH, _HEIGHT = PAGE_SIZE
_FRAME = 20
_INNER = 30
_HEADER = (38, 38, _WIDTH - 38, 186)
_MARGIN = 70
_TEXT_WIDTH = _WIDTH - 2 * _MARGIN
_COLUMN_GAP = 28
_COLUMN = (_TEXT_WIDTH - _COLUMN_GAP) // 2
_OUTCOMES_END = 925
_FOOT = 960


def _frame(page: _Page) -> None:
    outer, inner = _FRAME, _INNER
    for x0, y0, x1, y1 in (
        (outer, outer, _WIDTH - outer, outer + 5),
        (outer, _HEIGHT - outer - 5, _WIDTH - outer, _HEIGHT - outer),
        (outer, outer, outer + 5, _HEIGHT - outer),
        (_WIDTH - outer - 5, outer, _WIDTH - outer, _HEIGHT - outer),
    ):
        page.fill(x0, y0, x1, y1, _ACCENT)
    soft = _ramp_index("accent", 0.5)
    for x0, y0, x1, y1 in (
        (inner, inner, _WIDTH - inner, inner + 1),
        (inner, _HEIGHT - inner - 1, _WIDTH - inner, _HEIGHT - inner),
        (inner, inner, inner + 1, _HEIGHT - inner),
        (_WIDTH - inner - 1, inner, _WIDTH - inner, _HEIGHT - inner),
    ):
        page.fill(x0, y0, x1, y1, soft)


def render_page(
    mc: MicroCredentialIn,
    issuer: IssuerProfile,
    language: str,
    link: str | None = None,
) -> bytes:
    """The PNG certificate of ``mc`` in ``language`` (values fall back to the first language
    given); with a QR code and short link to ``link`` (the credential's public page) if given."""
    return certificate(mc, issuer, language, link).png()


def certificate(
    mc: MicroCredentialIn, issuer: IssuerProfile, language: str, link: str | None = None
) -> _Page:
    """The certificate as the list of what it draws (see :func:`render_page`)."""
    text = captions(language)
    page = _Page(issuer.colour or DEFAULT_COLOUR)
    _frame(page)

    # Header: the issuer on its colour.
    x0, y0, x1, y1 = _HEADER
    page.fill(x0, y0, x1, y1, _ACCENT)
    issuer_name = pick(issuer.name, language)
    # With a logo on the left, the header's text keeps clear of it on both sides.
    inset = LOGO_SIZE + 20 if issuer.logo else 0
    if issuer.logo:
        page.logo(x0 + 14, y0 + (y1 - y0 - LOGO_SIZE) // 2, issuer.logo)
    header_x, header_width = _MARGIN + inset, _TEXT_WIDTH - 2 * inset
    name_lines = len(
        _wrap(unicodedata.normalize("NFC", issuer_name), "serif-bold", 28, header_width - 7)
    )
    y = y0 + (42 if min(name_lines, 2) == 1 else 22)
    y = page.block(
        header_x,
        y,
        header_width,
        issuer_name,
        "serif-bold",
        28,
        "white",
        leading=38,
        max_lines=2,
        align="centre",
    )
    page.block(
        header_x,
        y + 8,
        header_width,
        text["heading"],
        "sans-bold",
        17,
        "pale",
        leading=24,
        max_lines=1,
        align="centre",
    )

    # The award.
    y = 222
    y = page.block(
        _MARGIN,
        y,
        _TEXT_WIDTH,
        text["certifies"],
        "sans",
        18,
        "grey",
        leading=26,
        max_lines=2,
        align="centre",
    )
    y = page.block(
        _MARGIN,
        y + 8,
        _TEXT_WIDTH,
        _learner_name(mc),
        "serif-bold",
        38,
        "ink",
        leading=50,
        max_lines=2,
        align="centre",
    )
    page.fill(_WIDTH // 2 - 110, y + 10, _WIDTH // 2 + 110, y + 12, _ACCENT)
    y = page.block(
        _MARGIN,
        y + 28,
        _TEXT_WIDTH,
        text["completed"],
        "sans",
        18,
        "grey",
        leading=26,
        max_lines=2,
        align="centre",
    )
    y = page.block(
        _MARGIN,
        y + 6,
        _TEXT_WIDTH,
        pick(mc.title, language),
        "serif-bold",
        30,
        "accent",
        leading=40,
        max_lines=3,
        align="centre",
    )

    # The facts, two columns.
    y += 26
    page.fill(_MARGIN, y, _WIDTH - _MARGIN, y + 1, 2)
    y += 20
    facts = certificate_facts(mc, issuer, language)
    for row in range(0, len(facts), 2):
        bottom = y
        for column, (caption, value) in enumerate(facts[row : row + 2]):
            x = _MARGIN + column * (_COLUMN + _COLUMN_GAP)
            below = page.block(x, y, _COLUMN, caption, "sans-bold", 12, "accent", leading=18)
            below = page.block(x, below, _COLUMN, value, "sans", 15, "ink", leading=21, max_lines=4)
            bottom = max(bottom, below)
        y = bottom + 12

    # The learning outcomes, as many as fit.
    page.fill(_MARGIN, y, _WIDTH - _MARGIN, y + 1, 2)
    y += 18
    y = page.block(_MARGIN, y, _TEXT_WIDTH, text["outcomes"], "sans-bold", 12, "accent", leading=20)
    outcomes = mc.learningOutcomes
    for index, outcome in enumerate(outcomes):
        room = (_OUTCOMES_END - y) // 21
        if room < 1:
            break
        last = index == len(outcomes) - 1
        if room == 1 and not last:
            page.block(_MARGIN + 16, y, _TEXT_WIDTH - 16, "…", "sans", 15, "ink", leading=21)
            break
        page.write((_MARGIN, y), "•", "sans", 15, "accent")
        y = page.block(
            _MARGIN + 16,
            y,
            _TEXT_WIDTH - 16,
            pick(outcome.title, language),
            "sans",
            15,
            "ink",
            leading=21,
            max_lines=min(2, room if last else room - 1),
        )

    # The foot: seal, verification link and QR code, the issuer's legal identity.
    page.seal(_MARGIN, _FOOT + 8, _initials(issuer_name))
    if link is not None:
        side = len(qr_rows(link)) * QR_MODULE
        qr_x = _WIDTH - _MARGIN - side
        page.qr(qr_x, _FOOT + 8, link)
        text_x = _MARGIN + SEAL_SIZE + 24
        text_width = qr_x - 20 - text_x
        below = page.block(
            text_x,
            _FOOT + 40,
            text_width,
            text["verify"],
            "sans-bold",
            14,
            "accent",
            leading=22,
            max_lines=2,
            align="right",
        )
        link_lines = [link]
        if _width(link, "sans", 12) > text_width and "/" in link.rstrip("/"):
            cut = link.rstrip("/").rindex("/") + 1
            link_lines = [link[:cut], link[cut:]]
        for line in link_lines:
            below = page.block(
                text_x,
                below,
                text_width,
                line,
                "sans",
                12,
                "ink",
                leading=17,
                max_lines=1,
                align="right",
            )
    identity = _join(
        [
            issuer_name,
            issuer.legal_identifier,
            vocabularies().scheme("country").lookup(issuer.country).pref_label,
        ]
    )
    page.block(
        _MARGIN,
        _HEIGHT - 68,
        _TEXT_WIDTH,
        identity,
        "sans",
        12,
        "grey",
        leading=17,
        max_lines=1,
        align="centre",
    )
    return page


def render_pages(
    mc: MicroCredentialIn,
    issuer: IssuerProfile,
    languages: Iterable[str] | None = None,
    link: str | None = None,
) -> dict[str, bytes]:
    """One page per language: ``languages``, or every language of ``mc.title`` (in its order)."""
    return {language: render_page(mc, issuer, language, link) for language in languages or mc.title}
