"""A printable page per language: the picture an EDC must carry in ``displayParameter``.

One A4-proportioned greyscale PNG (827 × 1169 pixels, A4 at 100 dpi) per language, showing the
main facts of the micro-credential. Captions are English; the values are taken in the page's
language where the request gives one. Pillow's built-in font is used, so the output does not
depend on the fonts installed on the machine, and the same input gives the same bytes (with
the same Pillow version). Glyphs the built-in font lacks (e.g. some non-Latin scripts) may
render as boxes.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

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

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def _font(size: int) -> Font:
    return ImageFont.load_default(size=size)


def _wrap(text: str, font: Font, width: int) -> list[str]:
    """Greedy word wrap; words wider than the line are cut."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}" if line else word
            if font.getlength(candidate) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            while font.getlength(word) > width:
                cut = len(word)
                while cut > 1 and font.getlength(word[:cut]) > width:
                    cut -= 1
                lines.append(word[:cut])
                word = word[cut:]
            line = word
        lines.append(line)
    return lines


class _Page:
    def __init__(self) -> None:
        self.image = Image.new("L", PAGE_SIZE, _PAPER)
        self.draw = ImageDraw.Draw(self.image)
        self.y = MARGIN
        self.width = PAGE_SIZE[0] - 2 * MARGIN
        self.bottom = PAGE_SIZE[1] - MARGIN - 30
        self.full = False

    def text(
        self, text: str, size: int, *, fill: int = _INK, indent: int = 0, gap: int = 4
    ) -> None:
        font = _font(size)
        for line in _wrap(text, font, self.width - indent):
            if self.y + size > self.bottom:
                if not self.full:
                    self.draw.text((MARGIN + indent, self.y), "...", font=font, fill=fill)
                self.full = True
                return
            self.draw.text((MARGIN + indent, self.y), line, font=font, fill=fill)
            self.y += size + gap

    def space(self, pixels: int) -> None:
        self.y += pixels

    def rule(self) -> None:
        if self.y < self.bottom:
            self.draw.line((MARGIN, self.y, PAGE_SIZE[0] - MARGIN, self.y), fill=_RULE, width=1)
        self.y += 12

    def fact(self, caption: str, value: str) -> None:
        self.text(caption, 13, fill=_GREY, gap=2)
        self.text(value, 17, indent=12, gap=4)
        self.space(6)

    def footer(self, text: str) -> None:
        font = _font(12)
        self.draw.text((MARGIN, PAGE_SIZE[1] - MARGIN), text, font=font, fill=_GREY)

    def png(self) -> bytes:
        buffer = io.BytesIO()
        self.image.save(buffer, format="PNG")
        return buffer.getvalue()


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
