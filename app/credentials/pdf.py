"""A credential as a PDF: the certificate's design with real text, and the signed credential
attached, so that the PDF itself can be verified.

The page follows the certificate picture of :mod:`app.credentials.render` (A4, the frame and
header in the issuer's colour, learner, title, the facts in two columns, learning outcomes, seal,
QR code and short link, the issuer's legal identity), drawn as vector graphics and text in the
same Noto faces, embedded (subset) by fpdf2: the text can be selected, searched and read aloud.
What it shows is a :class:`~app.credentials.pdf_content.Content`, read from the signed document.

The signed credential is the embedded file ``credential.json`` (PDF 1.7 §7.11.4, listed in the
document's ``EmbeddedFiles`` name tree; :mod:`app.credentials.pdf_attachment` reads it back).
The creation date is the credential's issuance date and the file identifier a hash of the
content, so the same credential gives the same bytes.
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import re
import unicodedata

from fpdf import FPDF

from app.credentials.pdf_attachment import ATTACHMENT_NAME
from app.credentials.pdf_content import Content
from app.credentials.render import FACES, FONTS_DIR, captions, qr_rows

#: A pixel of the certificate picture (100 dpi) in millimetres: the PDF uses its layout.
PX = 25.4 / 100
# fontTools reports every subset it makes at INFO: not the service's news.
logging.getLogger("fontTools").setLevel(logging.WARNING)


def _rgb(colour: str) -> tuple[int, int, int]:
    return (int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16))


def _mix(colour: tuple[int, int, int], fraction: float) -> tuple[int, int, int]:
    """``colour`` at ``fraction`` over white paper."""
    r, g, b = (round(255 + (c - 255) * fraction) for c in colour)
    return (r, g, b)


_INK = (27, 31, 36)
_GREY = _mix(_INK, 0.6)
_FONT_FAMILIES = {"sans": ("NotoSans", ""), "sans-bold": ("NotoSans", "B")}


class _Certificate(FPDF):
    def __init__(self, content: Content) -> None:
        super().__init__(unit="mm", format="A4")
        self.content = content
        self.accent = _rgb(content.colour)
        self.set_margins(0, 0, 0)
        self.set_auto_page_break(False)
        self.add_font("NotoSans", "", str(FONTS_DIR / FACES["sans"]))
        self.add_font("NotoSans", "B", str(FONTS_DIR / FACES["sans-bold"]))
        self.add_font("NotoSerif", "B", str(FONTS_DIR / FACES["serif-bold"]))
        self.set_creation_date(content.issued)
        self.set_producer("microcred")
        self.set_creator("microcred")
        self.set_title(f"{content.title} — {content.learner}")
        self.set_author(content.issuer_name)
        self.set_subject(captions(content.language)["heading"])
        self.set_lang(content.language)

    def file_id(self) -> str:
        """A hash of what the PDF says (the same credential, the same identifier)."""
        digest = hashlib.md5(repr(self.content).encode("utf-8"), usedforsecurity=False)
        return f"<{digest.hexdigest()}><{digest.hexdigest()}>"

    def box(self, x: float, y: float, w: float, h: float, colour: tuple[int, int, int]) -> None:
        self.set_fill_color(*colour)
        self.rect(x * PX, y * PX, w * PX, h * PX, style="F")

    def block(
        self,
        x: float,
        y: float,
        width: float,
        text: str,
        face: str,
        size: float,
        colour: tuple[int, int, int],
        *,
        leading: float,
        max_lines: int = 99,
        align: str = "L",
    ) -> float:
        """``text`` wrapped into ``width`` pixels from ``(x, y)`` (the certificate's pixels);
        the y below it. Lines past ``max_lines`` are cut, the last ending in an ellipsis."""
        family, style = _FONT_FAMILIES.get(face, ("NotoSerif", "B"))
        self.set_font(family, style, size * 72 / 100)  # pixels at 100 dpi to points
        self.set_text_color(*colour)
        wrapped = self.multi_cell(
            width * PX,
            leading * PX,
            unicodedata.normalize("NFC", text),
            dry_run=True,
            output="LINES",
        )
        lines: list[str] = [str(line) for line in wrapped] if isinstance(wrapped, list) else []
        if len(lines) > max_lines:
            lines = lines[:max_lines]
            last = lines[-1]
            while last and self.get_string_width(last + " …") > width * PX:
                last = last[:-1]
            lines[-1] = last.rstrip() + " …"
        for line in lines:
            self.set_xy(x * PX, y * PX)
            self.cell(width * PX, leading * PX, line, align=align)
            y += leading
        return y

    def seal(self, x: float, y: float, size: float, initials: str) -> None:
        """A rosette in the issuer's colour with the issuer's initials."""
        centre_x, centre_y, radius = (x + size / 2) * PX, (y + size / 2) * PX, size / 2 * PX
        teeth = 40
        points = []
        for i in range(teeth * 2):
            r = radius if i % 2 == 0 else radius * 0.9
            angle = math.pi * i / teeth
            points.append((centre_x + r * math.sin(angle), centre_y - r * math.cos(angle)))
        self.set_fill_color(*self.accent)
        self.polygon(points, style="F")
        self.set_draw_color(255, 255, 255)
        self.set_line_width(0.5)
        ring = radius * 0.76
        self.circle(centre_x, centre_y, ring, style="D")
        if initials:
            self.set_font("NotoSerif", "B", 21)
            self.set_text_color(255, 255, 255)
            self.set_xy(centre_x - radius, centre_y - 4)
            self.cell(2 * radius, 8, initials, align="C")

    def qr(self, x: float, y: float, link: str, module: float) -> float:
        rows = qr_rows(link)
        self.set_fill_color(*_INK)
        for r, row in enumerate(rows):
            c = 0
            while c < len(row):
                if row[c] == "1":
                    start = c
                    while c < len(row) and row[c] == "1":
                        c += 1
                    self.rect(
                        (x + start * module) * PX,
                        (y + r * module) * PX,
                        (c - start) * module * PX,
                        module * PX,
                        style="F",
                    )
                else:
                    c += 1
        return len(rows) * module

    def logo(self, x: float, y: float, height: float) -> float:
        """The issuer's logo on a white tile at ``(x, y)``; its width (0 without a logo)."""
        logo = self.content.logo
        if logo is None:
            return 0
        tile = height
        self.box(x, y, tile, tile, (255, 255, 255))
        inset = 8
        self.image(
            io.BytesIO(logo.data),
            x=(x + inset) * PX,
            y=(y + inset) * PX,
            w=(tile - 2 * inset) * PX,
            h=(tile - 2 * inset) * PX,
            keep_aspect_ratio=True,
        )
        return tile


# The certificate picture's layout (pixels at 100 dpi), see app.credentials.render.
_WIDTH, _HEIGHT = 827, 1169
_MARGIN = 70
_TEXT_WIDTH = _WIDTH - 2 * _MARGIN
_COLUMN_GAP = 28
_COLUMN = (_TEXT_WIDTH - _COLUMN_GAP) // 2
_OUTCOMES_END = 925
_FOOT = 960
_SEAL = 124


def _initials(name: str) -> str:
    words = [word for word in re.split(r"[\s\-]+", name) if word[:1].isupper()]
    return "".join(word[0] for word in words[:3])


def render_pdf(content: Content, credential_json: bytes) -> bytes:
    """The PDF of ``content`` with ``credential_json`` (the signed credential) attached."""
    pdf = _Certificate(content)
    pdf.add_page()
    text = captions(content.language)
    accent, soft = pdf.accent, _mix(pdf.accent, 0.5)
    white, pale = (255, 255, 255), _mix(pdf.accent, 0.28)

    for x0, y0, x1, y1 in ((20, 20, 807, 25), (20, 1144, 807, 1149), (20, 20, 25, 1149)):
        pdf.box(x0, y0, x1 - x0, y1 - y0, accent)
    pdf.box(802, 20, 5, 1129, accent)
    for x0, y0, w, h in (
        (30, 30, 767, 1),
        (30, 1138, 767, 1),
        (30, 30, 1, 1109),
        (796, 30, 1, 1109),
    ):
        pdf.box(x0, y0, w, h, soft)

    # Header: the logo and the issuer on its colour.
    pdf.box(38, 38, 751, 148, accent)
    logo_width = pdf.logo(52, 50, 124)
    left = _MARGIN + (logo_width + 10 if logo_width else 0)
    width = _TEXT_WIDTH - 2 * (logo_width + 10 if logo_width else 0)
    y = pdf.block(
        left,
        60,
        width,
        content.issuer_name,
        "serif-bold",
        28,
        white,
        leading=38,
        max_lines=2,
        align="C",
    )
    pdf.block(
        left,
        y + 8,
        width,
        text["heading"],
        "sans-bold",
        17,
        pale,
        leading=24,
        max_lines=1,
        align="C",
    )

    # The award.
    y = pdf.block(
        _MARGIN,
        222,
        _TEXT_WIDTH,
        text["certifies"],
        "sans",
        18,
        _GREY,
        leading=26,
        max_lines=2,
        align="C",
    )
    y = pdf.block(
        _MARGIN,
        y + 8,
        _TEXT_WIDTH,
        content.learner,
        "serif-bold",
        38,
        _INK,
        leading=50,
        max_lines=2,
        align="C",
    )
    pdf.box(_WIDTH // 2 - 110, y + 10, 220, 2, accent)
    y = pdf.block(
        _MARGIN,
        y + 28,
        _TEXT_WIDTH,
        text["completed"],
        "sans",
        18,
        _GREY,
        leading=26,
        max_lines=2,
        align="C",
    )
    y = pdf.block(
        _MARGIN,
        y + 6,
        _TEXT_WIDTH,
        content.title,
        "serif-bold",
        30,
        accent,
        leading=40,
        max_lines=3,
        align="C",
    )

    # The facts, two columns.
    y += 26
    rule = _mix(_INK, 2 / 7)
    pdf.box(_MARGIN, y, _TEXT_WIDTH, 1, rule)
    y += 20
    for row in range(0, len(content.facts), 2):
        bottom = y
        for column, (caption, value) in enumerate(content.facts[row : row + 2]):
            x = _MARGIN + column * (_COLUMN + _COLUMN_GAP)
            below = pdf.block(x, y, _COLUMN, caption, "sans-bold", 12, accent, leading=18)
            below = pdf.block(x, below, _COLUMN, value, "sans", 15, _INK, leading=21, max_lines=4)
            bottom = max(bottom, below)
        y = bottom + 12

    # The learning outcomes, as many as fit.
    if content.outcomes:
        pdf.box(_MARGIN, y, _TEXT_WIDTH, 1, rule)
        y += 18
        y = pdf.block(
            _MARGIN, y, _TEXT_WIDTH, text["outcomes"], "sans-bold", 12, accent, leading=20
        )
        for index, outcome in enumerate(content.outcomes):
            room = int((_OUTCOMES_END - y) // 21)
            if room < 1:
                break
            last = index == len(content.outcomes) - 1
            if room == 1 and not last:
                pdf.block(_MARGIN + 16, y, _TEXT_WIDTH - 16, "…", "sans", 15, _INK, leading=21)
                break
            pdf.block(_MARGIN, y, 16, "•", "sans", 15, accent, leading=21)
            y = pdf.block(
                _MARGIN + 16,
                y,
                _TEXT_WIDTH - 16,
                outcome,
                "sans",
                15,
                _INK,
                leading=21,
                max_lines=min(2, room if last else room - 1),
            )

    # The foot: seal, verification link and QR code, the issuer's legal identity.
    pdf.seal(_MARGIN, _FOOT + 8, _SEAL, _initials(content.issuer_name))
    if content.link is not None:
        module = 3
        side = len(qr_rows(content.link)) * module
        qr_x = _WIDTH - _MARGIN - side
        pdf.qr(qr_x, _FOOT + 8, content.link, module)
        pdf.link(qr_x * PX, (_FOOT + 8) * PX, side * PX, side * PX, content.link)
        text_x = _MARGIN + _SEAL + 24
        text_width = qr_x - 20 - text_x
        below = pdf.block(
            text_x,
            _FOOT + 40,
            text_width,
            text["verify"],
            "sans-bold",
            14,
            accent,
            leading=22,
            max_lines=2,
            align="R",
        )
        pdf.set_font("NotoSans", "", 12 * 72 / 100)
        pdf.set_text_color(*_INK)
        link_lines = [content.link]
        if pdf.get_string_width(content.link) > text_width * PX and "/" in content.link:
            cut = content.link.rstrip("/").rindex("/") + 1
            link_lines = [content.link[:cut], content.link[cut:]]
        for line in link_lines:
            pdf.set_xy(text_x * PX, below * PX)
            pdf.cell(text_width * PX, 17 * PX, line, align="R", link=content.link)
            below += 17
    pdf.block(
        _MARGIN,
        _HEIGHT - 68,
        _TEXT_WIDTH,
        content.identity,
        "sans",
        12,
        _GREY,
        leading=17,
        max_lines=1,
        align="C",
    )

    pdf.embed_file(
        bytes=credential_json,
        basename=ATTACHMENT_NAME,
        desc="The signed credential: verify it at any verifier of W3C Verifiable Credentials",
        mime_type="application/json",
        creation_date=content.issued,
        modification_date=content.issued,
        compress=True,
    )
    return bytes(pdf.output())
