"""A printable page per language: the picture an EDC must carry in ``displayParameter``.

One A4-proportioned PNG (827 × 1169 pixels, A4 at 100 dpi) per language, showing the main facts
of the micro-credential. Captions are English; the values are taken in the page's language where
the request gives one. Pillow's built-in font is used, so the output does not depend on the fonts
installed on the machine, and the same input gives the same bytes (with the same Pillow version).
Glyphs the built-in font lacks (e.g. some non-Latin scripts) may render as boxes.

Every issued EDC carries these pages, so rendering is on the issuing path and is built for speed.
The page uses four grey levels only (ink, caption grey, rule grey, paper) and is written as a
2-bit palette PNG. It is drawn in palette indices from the start: each glyph is rasterised once
per process, size and colour (:func:`_inked`), already blended onto paper and quantized to the
four levels; a line is laid out by pasting these at their advances (a test checks the ink lands
where Pillow's own text drawing puts it) and kept (:func:`_line`), since the credentials of one
course share most of their lines. A page is the list of what it draws; its PNG is made in
bands of rows, each drawn, packed and deflated once per process for what it draws (:func:`_png`),
and the PNG container is written here. Measured for the two pages of the example request on one
core (AMD EPYC, Pillow 13), lines and bands cached: ~0.25 ms and 25 KB; 1.9 ms with each page
drawn whole and deflated in one zlib call, 5.1 ms for cached glyph masks drawn in greys,
quantized at the end and written by Pillow's PNG writer (itself 15 ms on the slower Intel Xeon,
where drawing each line with ``ImageDraw.text`` into an 8-bit greyscale PNG took 113 ms for
48 KB).
"""

from __future__ import annotations

import struct
import unicodedata
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from app.credentials.microcredential import (
    IssuerProfile,
    MicroCredentialIn,
    awarding_bodies,
    format_decimal,
    pick,
)
from app.credentials.vocabularies import vocabularies

PAGE_SIZE = (827, 1169)
MARGIN = 60
_INK = 0
_GREY = 96
_RULE = 170
_PAPER = 255
_LEVELS = (_INK, _GREY, _RULE, _PAPER)
"""The page's only grey levels: the palette of the 2-bit PNG, in this order."""
_QUANTIZE = [min(range(4), key=lambda i: abs(_LEVELS[i] - v)) for v in range(256)]
_PALETTE = [level for level in _LEVELS for _ in range(3)]
_PAPER_INDEX = _LEVELS.index(_PAPER)


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


@dataclass(frozen=True)
class _Glyph:
    advance: float
    offset: tuple[int, int]
    """Where the mask's top-left corner goes, relative to the pen (left, ascender line)."""
    mask: Image.Image | None
    """Coverage (0–255) of the glyph's box; None for a blank glyph such as a space."""


@lru_cache(maxsize=8192)
def _glyph(size: int, char: str) -> _Glyph:
    font = _font(size)
    left, top, right, bottom = (int(v) for v in font.getbbox(char))
    mask = None
    if right > left and bottom > top:
        mask = Image.new("L", (right - left, bottom - top), 0)
        ImageDraw.Draw(mask).text((-left, -top), char, font=font, fill=255)
    return _Glyph(font.getlength(char), (left, top), mask)


def _on_paper(fill: int, coverage: int) -> int:
    """The palette index of ``fill`` at ``coverage`` over paper (Pillow's rounded blend)."""
    blended = _PAPER * (255 - coverage) + fill * coverage + 128
    return _QUANTIZE[((blended >> 8) + blended) >> 8]


@dataclass(frozen=True)
class _Inked:
    """A glyph in one colour, ready to paste onto the page: palette indices and where they go."""

    advance: float
    box: tuple[int, int, int, int] | None
    """The glyph's box relative to the pen; None when no pixel of it is darker than paper."""
    indices: Any = None
    """The palette indices of the box (Pillow's core image, as ``Image.im`` gives it)."""
    ink: Any = None
    """1 where the glyph leaves a pixel darker than paper: only those are pasted (core image)."""

    def paste(self, page: Any, x: int, y: int) -> None:
        """Paste onto ``page``, a core image (the call ``Image.paste`` ends in, without its
        per-call argument checks: a page pastes a few thousand glyphs)."""
        if self.box is not None:
            left, top, right, bottom = self.box
            page.paste(self.indices, (x + left, y + top, x + right, y + bottom), self.ink)


@lru_cache(maxsize=8192)
def _inked(size: int, char: str, fill: int) -> _Inked:
    glyph = _glyph(size, char)
    if glyph.mask is None:
        return _Inked(glyph.advance, None)
    indices = [_on_paper(fill, coverage) for coverage in range(256)]
    if all(index == _PAPER_INDEX for index in indices[1:]):
        return _Inked(glyph.advance, None)
    width, height = glyph.mask.size
    left, top = glyph.offset
    return _Inked(
        glyph.advance,
        (left, top, left + width, top + height),
        glyph.mask.point(indices).im,
        glyph.mask.point([0 if index == _PAPER_INDEX else 255 for index in indices], "1").im,
    )


@lru_cache(maxsize=256)
def _line(text: str, size: int, fill: int) -> _Inked:
    """One line in one colour, laid out once from the glyph cache: the credentials of one course
    repeat most of their lines (a few hundred lines of up to ~30 KB each are kept)."""
    placed = []
    pen = 0.0
    for char in text:
        glyph = _inked(size, char, fill)
        if glyph.box is not None:
            placed.append((glyph.box, round(pen), glyph))
        pen += glyph.advance
    if not placed:
        return _Inked(pen, None)
    left = min(box[0] + x for box, x, _ in placed)
    top = min(box[1] for box, _, _ in placed)
    right = max(box[2] + x for box, x, _ in placed)
    bottom = max(box[3] for box, _, _ in placed)
    strip = Image.new("L", (right - left, bottom - top), _PAPER_INDEX)
    ink = Image.new("1", strip.size, 0)
    for box, x, glyph in placed:
        glyph.paste(strip.im, x - left, -top)
        ink.im.paste(
            255, (x - left + box[0], box[1] - top, x - left + box[2], box[3] - top), glyph.ink
        )
    return _Inked(pen, (left, top, right, bottom), strip.im, ink.im)


def _width(text: str, size: int) -> float:
    return sum(_glyph(size, char).advance for char in text)


@lru_cache(maxsize=256)
def _wrap(text: str, size: int, width: int) -> tuple[str, ...]:
    """Greedy word wrap at ``width`` pixels; words wider than the line are cut."""
    space = _width(" ", size)
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line, line_width = "", 0.0
        for word in paragraph.split():
            word_width = _width(word, size)
            if line and line_width + space + word_width <= width:
                line, line_width = f"{line} {word}", line_width + space + word_width
                continue
            if line:
                lines.append(line)
            while word_width > width:
                cut, cut_width = 0, 0.0
                while cut < len(word) - 1:
                    advance = _glyph(size, word[cut]).advance
                    if cut and cut_width + advance > width:
                        break
                    cut, cut_width = cut + 1, cut_width + advance
                lines.append(word[:cut])
                word, word_width = word[cut:], word_width - cut_width
            line, line_width = word, word_width
        lines.append(line)
    return tuple(lines)


#: What a page draws, in order: a line of text (``"t", x, y, text, size, fill``) or a rule
#: (``"r", x0, y, x1``, the pixels x0 to x1 of row y); each with the rows it covers.
_Op = tuple[Any, ...]
_RULE_INDEX = _LEVELS.index(_RULE)


class _Page:
    """A page as the list of what it draws (:data:`_Op`). The PNG is made band by band from
    that list (:func:`_png`), and :attr:`image` draws it whole."""

    def __init__(self) -> None:
        self.ops: list[tuple[int, int, _Op]] = []  # (first row, last row + 1, op)
        self.y = MARGIN
        self.width = PAGE_SIZE[0] - 2 * MARGIN
        self.bottom = PAGE_SIZE[1] - MARGIN - 30
        self.full = False

    def write(self, xy: tuple[int, int], text: str, size: int, fill: int) -> None:
        """Draw one line with its top-left at ``xy``."""
        box = _line(text, size, fill).box
        if box is not None:
            x, y = xy
            self.ops.append((y + box[1], y + box[3], ("t", x, y, text, size, fill)))

    def text(
        self, text: str, size: int, *, fill: int = _INK, indent: int = 0, gap: int = 4
    ) -> None:
        text = unicodedata.normalize("NFC", text)
        for line in _wrap(text, size, self.width - indent):
            if self.y + size > self.bottom:
                if not self.full:
                    self.write((MARGIN + indent, self.y), "...", size, fill)
                self.full = True
                return
            self.write((MARGIN + indent, self.y), line, size, fill)
            self.y += size + gap

    def space(self, pixels: int) -> None:
        self.y += pixels

    def rule(self) -> None:
        if self.y < self.bottom:
            self.ops.append((self.y, self.y + 1, ("r", MARGIN, self.y, PAGE_SIZE[0] - MARGIN)))
        self.y += 12

    def fact(self, caption: str, value: str) -> None:
        self.text(caption, 13, fill=_GREY, gap=2)
        self.text(value, 17, indent=12, gap=4)
        self.space(6)

    def footer(self, text: str) -> None:
        self.write((MARGIN, PAGE_SIZE[1] - MARGIN), unicodedata.normalize("NFC", text), 12, _GREY)

    @property
    def image(self) -> Image.Image:
        """The whole page drawn (palette indices, the page's palette)."""
        image = Image.new("P", PAGE_SIZE, _PAPER_INDEX)
        image.putpalette(_PALETTE)
        for _, _, op in self.ops:
            _draw(image.im, op, 0, 0)
        return image

    def png(self) -> bytes:
        """The page as a 2-bit palette PNG (see :func:`_png`)."""
        return _png(self.ops)


def _draw(canvas: Any, op: _Op, dx: int, dy: int) -> None:
    """Draw ``op`` onto ``canvas`` (a core image) moved by ``dx``, ``dy``; Pillow clips."""
    if op[0] == "t":
        _, x, y, text, size, fill = op
        _line(text, size, fill).paste(canvas, x + dx, y + dy)
    else:
        _, x0, y, x1 = op
        canvas.paste(_RULE_INDEX, (x0 + dx, y + dy, x1 + 1 + dx, y + 1 + dy))


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
    what they draw: packed four pixels wider, the four on the left in index 0 (each row then
    starts with a zero byte, its PNG filter byte), deflated as raw deflate ending on a full flush
    (its bytes depend on nothing before it); with their Adler-32 and length."""
    canvas = Image.new("P", (PAGE_SIZE[0] + 4, rows), _PAPER_INDEX)
    canvas.im.paste(0, (0, 0, 4, rows))
    for op in ops:
        _draw(canvas.im, op, 4, 0)
    raw = canvas.tobytes("raw", "P;2")
    compressor = zlib.compressobj(1, zlib.DEFLATED, -15)
    deflated = compressor.compress(raw) + compressor.flush(zlib.Z_FULL_FLUSH)
    return deflated, zlib.adler32(raw), len(raw)


def _png(ops: list[tuple[int, int, _Op]]) -> bytes:
    """The page drawing ``ops`` as a 2-bit palette PNG (palette indices 0-3, the page's palette).

    Only the PNG container is written here (PNG 3rd edition: IHDR, PLTE, IDAT with filter type 0
    on every row, IEND). The rows are made in bands of :data:`BAND_ROWS`, and a band is drawn,
    packed by Pillow (``P;2``) and deflated once per process for what it draws: the pages of one
    course share all their bands but those holding the learner's name or grade, and every blank
    band is one band. One zlib stream holds the bands in order and the Adler-32 of all rows,
    combined from the bands'. A test decodes the result with Pillow, which checks every chunk's
    CRC and the Adler-32, and compares every pixel with the page drawn whole.
    """
    width, height = PAGE_SIZE
    parts = [_ZLIB_HEADER]
    adler = 1  # of no bytes
    for top in range(0, height, BAND_ROWS):
        rows = min(BAND_ROWS, height - top)
        bottom = top + rows
        # What the band draws, placed relative to its top: equal bands anywhere share one entry.
        drawn = tuple(
            (op[0], op[1], op[2] - top, *op[3:])
            for first, last, op in ops
            if first < bottom and last > top
        )
        deflated, band_adler, length = _band(rows, drawn)
        parts.append(deflated)
        adler = adler32_combine(adler, band_adler, length)
    parts += (_FINAL_BLOCK, struct.pack(">I", adler))
    header = struct.pack(">IIBBBBB", width, height, 2, 3, 0, 0, 0)  # 2 bits, palette
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            _chunk(b"IHDR", header),
            _chunk(b"PLTE", bytes(_PALETTE)),
            _chunk(b"IDAT", b"".join(parts)),
            _chunk(b"IEND", b""),
        )
    )


def _learner_name(mc: MicroCredentialIn) -> str:
    learner = mc.learner
    if learner.full_name:
        return learner.full_name
    if learner.identifier is not None:
        return f"{learner.identifier.scheme} {learner.identifier.value}"
    return learner.email or learner.id or ""


def _label(uri: str) -> str:
    concept = vocabularies().by_uri(uri)
    return concept.pref_label if concept else uri


def _join(parts: Iterable[str | None]) -> str:
    return " · ".join(part for part in parts if part)


def render_page(mc: MicroCredentialIn, issuer: IssuerProfile, language: str) -> bytes:
    """The PNG page of ``mc`` in ``language`` (values fall back to the first language given)."""
    country = vocabularies().scheme("country")
    page = _Page()
    page.text("EU MICRO-CREDENTIAL", 14, fill=_GREY)
    page.space(8)
    page.text(pick(mc.title, language), 30, gap=6)
    page.space(6)
    page.text("awarded to", 13, fill=_GREY)
    page.text(_learner_name(mc), 24)
    page.space(10)
    page.rule()

    bodies = awarding_bodies(mc, issuer)
    page.fact(
        "Awarding body",
        "; ".join(
            f"{pick(body.name, language)} ({country.lookup(body.country).pref_label})"
            for body in bodies
        ),
    )
    if not any(body.is_issuer for body in bodies):
        page.fact("Issued by", pick(issuer.name, language))
    page.fact("Date of award", mc.awardedOn.isoformat())
    workload = mc.workload
    page.fact(
        "Notional workload",
        _join(
            [
                f"{format_decimal(workload.ects)} ECTS credits" if workload.ects else None,
                f"{format_decimal(workload.hours)} hours" if workload.hours else None,
            ]
        ),
    )
    if mc.eqfLevel is not None or mc.qfEheaCycle is not None:
        page.fact(
            "Level",
            _join(
                [
                    f"EQF level {mc.eqfLevel}" if mc.eqfLevel is not None else None,
                    f"QF-EHEA {mc.qfEheaCycle} cycle" if mc.qfEheaCycle else None,
                ]
            ),
        )
    assessment = mc.assessment
    page.fact(
        "Assessment",
        _join(
            [
                pick(assessment.title, language) if assessment.title else None,
                _label(assessment.type),
                f"grade: {mc.grade}" if mc.grade else None,
            ]
        ),
    )
    participation = mc.participation
    page.fact(
        "Form of participation",
        _join(
            [
                _label(participation.mode),
                _label(participation.setting) if participation.setting else None,
            ]
        ),
    )
    qa = mc.qualityAssurance
    page.fact(
        "Quality assurance",
        _join(
            [
                _label(qa.type),
                pick(qa.title, language) if qa.title else None,
                pick(qa.agency.name, language) if qa.agency else None,
            ]
        ),
    )
    page.rule()
    page.text("Learning outcomes", 13, fill=_GREY)
    page.space(2)
    for outcome in mc.learningOutcomes:
        page.text(f"-  {pick(outcome.title, language)}", 15, indent=12)
        if page.full:
            break
    page.footer(
        _join(
            [
                f"Issued by {pick(issuer.name, language)}",
                language.upper(),
                "page 1 of 1",
            ]
        )
    )
    return page.png()


def render_pages(
    mc: MicroCredentialIn, issuer: IssuerProfile, languages: Iterable[str] | None = None
) -> dict[str, bytes]:
    """One page per language: ``languages``, or every language of ``mc.title`` (in its order)."""
    return {language: render_page(mc, issuer, language) for language in languages or mc.title}
