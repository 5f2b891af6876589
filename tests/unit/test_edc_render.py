"""The display page images: A4-proportioned PNGs, one per language, deterministic."""

from __future__ import annotations

import io

from PIL import Image

from app.credentials.examples import example_issuer, example_request
from app.credentials.microcredential import MicroCredentialIn
from app.credentials.render import PAGE_SIZE, render_page, render_pages


def mc_of(**overrides: object) -> MicroCredentialIn:
    return MicroCredentialIn.model_validate(example_request(**overrides))


def test_one_a4_png_per_title_language() -> None:
    pages = render_pages(mc_of(), example_issuer())
    assert list(pages) == ["en", "ga"]
    for png in pages.values():
        image = Image.open(io.BytesIO(png))
        assert image.format == "PNG"
        assert image.size == PAGE_SIZE
        width, height = image.size
        assert abs(height / width - 2**0.5) < 0.01  # A4 proportions


def test_the_same_input_gives_the_same_bytes() -> None:
    assert render_page(mc_of(), example_issuer(), "en") == render_page(
        mc_of(), example_issuer(), "en"
    )


def test_the_page_depends_on_the_facts_and_the_language() -> None:
    issuer = example_issuer()
    english = render_page(mc_of(), issuer, "en")
    assert render_page(mc_of(), issuer, "ga") != english
    assert render_page(mc_of(workload={"ects": 3}), issuer, "en") != english
    assert render_page(mc_of(learner={"email": "x@example.org"}), issuer, "en") != english


def test_the_page_is_not_blank() -> None:
    image = Image.open(io.BytesIO(render_page(mc_of(), example_issuer(), "en"))).convert("L")
    histogram = image.histogram()
    dark = sum(histogram[:128])
    assert dark > 2000  # text was drawn


def test_a_hundred_long_outcomes_still_fit_one_page() -> None:
    outcomes = [{"title": {"en": f"Outcome {i} " + "word " * 60}} for i in range(100)]
    png = render_page(mc_of(learningOutcomes=outcomes), example_issuer(), "en")
    assert Image.open(io.BytesIO(png)).size == PAGE_SIZE


def test_chosen_languages_only() -> None:
    assert list(render_pages(mc_of(), example_issuer(), ["ga"])) == ["ga"]


def test_a_line_laid_out_from_cached_glyphs_looks_like_pillows_own_drawing() -> None:
    # The page pastes one cached mask per glyph (no kerning); the ink must land where Pillow's
    # own text drawing puts it, give or take a pixel of rounding at the glyph edges.
    from PIL import ImageDraw

    from app.credentials.render import _font, _Page

    line = "Quality and Qualifications Ireland · Ólann Éire tae, Łukasz Żółć, Ζωή, Йордан"
    page = _Page()
    page.write((60, 100), line, "sans", 17, "ink")
    ours = page.image.convert("L").tobytes()
    reference = Image.new("L", PAGE_SIZE, 255)
    ImageDraw.Draw(reference).text((60, 100), line, font=_font("sans", 17), fill=0)
    theirs = reference.tobytes()

    ink = sum(1 for v in theirs if v < 128)
    both = sum(1 for a, b in zip(ours, theirs, strict=True) if a < 128 and b < 128)
    either = sum(1 for a, b in zip(ours, theirs, strict=True) if a < 128 or b < 128)
    assert ink > 1000
    assert both / either > 0.8


def test_the_png_is_a_16_colour_palette_in_the_issuers_colour() -> None:
    from dataclasses import replace

    from app.credentials.render import DEFAULT_COLOUR

    issuer = replace(example_issuer(), colour="#7a1f2b")
    image = Image.open(io.BytesIO(render_page(mc_of(), issuer, "en")))
    assert image.mode == "P"
    colours = {rgb for _, rgb in image.convert("RGB").getcolors(maxcolors=1 << 16) or []}
    assert len(colours) <= 16
    assert {(255, 255, 255), (0x7A, 0x1F, 0x2B)} <= colours  # paper and the issuer's colour
    default = Image.open(io.BytesIO(render_page(mc_of(), example_issuer(), "en")))
    rgb = tuple(int(DEFAULT_COLOUR[i : i + 2], 16) for i in (1, 3, 5))
    assert rgb in {c for _, c in default.convert("RGB").getcolors(maxcolors=1 << 16) or []}
    # The colour lives in the palette only: the drawn indices are the same.
    assert image.tobytes() == default.tobytes()


def test_the_png_decodes_to_exactly_the_page_drawn() -> None:
    # The PNG container is written by render._png: Pillow decodes it (checking every chunk's
    # CRC) and must find the drawn page's palette and every one of its pixels.
    from app.credentials.render import _Page

    page = _Page()
    page.block(
        70,
        60,
        680,
        "Quality assurance · Ólann Éire tae · 0123456789 " * 8,
        "sans",
        17,
        "ink",
        leading=24,
    )
    page.fill(38, 300, 789, 420, 15)
    page.block(70, 330, 680, "Ollscoil Zed · Ζωή · Йордан", "serif-bold", 28, "white", leading=38)
    page.fill(70, 500, 757, 501, 2)
    page.qr(600, 600, "http://127.0.0.1:8000/v/3f2a5b1c-8d9e-4f01-a2b3-c4d5e6f70812")
    page.seal(70, 600, "UZ")
    decoded = Image.open(io.BytesIO(page.png()))
    decoded.load()
    assert decoded.mode == "P" and decoded.size == PAGE_SIZE
    assert decoded.info.get("transparency") is None
    assert decoded.tobytes() == page.image.tobytes()
    palette = decoded.getpalette()
    assert palette is not None and palette[:48] == (page.image.getpalette() or [])[:48]
    assert len(set(decoded.tobytes())) == 16


def test_pages_of_one_course_share_deflated_bands_and_each_decodes_exactly() -> None:
    # Two learners of one course: the second page reuses the first's deflated bands but those
    # holding the name, and still decodes to exactly its own pixels (Pillow checks the zlib
    # stream's Adler-32 over all rows, so a band from the wrong page would fail it).
    from app.credentials import render
    from app.credentials.render import _Page

    def drawn(name: str) -> _Page:
        page = _Page()
        page.block(70, 60, 680, "Applied Data Stewardship", "serif-bold", 30, "accent", leading=40)
        page.block(70, 140, 680, name, "serif-bold", 38, "ink", leading=50)
        page.fill(70, 200, 757, 201, 2)
        page.block(70, 220, 680, "Assessment · Written exam", "sans", 15, "ink", leading=21)
        return page

    first, second = drawn("Aoife Ní Bhriain"), drawn("Seán Ó Murchú")
    render._band.cache_clear()
    first_png = first.png()
    kept = render._band.cache_info().currsize
    second_png = second.png()
    bands = -(-PAGE_SIZE[1] // render.BAND_ROWS)
    assert kept < bands  # blank paper bands are one band
    new = render._band.cache_info().currsize - kept
    assert 1 <= new <= 2  # the name's band(s), no more
    for page, png in ((first, first_png), (second, second_png)):
        decoded = Image.open(io.BytesIO(png))
        decoded.load()
        assert decoded.tobytes() == page.image.tobytes()
    assert first_png != second_png
    render._band.cache_clear()  # a cold cache writes the same bytes
    assert second.png() == second_png


def test_adler32_combine_gives_zlibs_adler32_of_the_concatenation() -> None:
    import random
    import zlib

    from app.credentials.render import adler32_combine

    chooser = random.Random(8)
    for _ in range(300):
        first = chooser.randbytes(chooser.choice([0, 1, 7, 5552, 65521, 70000]))
        second = chooser.randbytes(chooser.choice([0, 1, 3, 5553, 65522, 140000]))
        combined = adler32_combine(zlib.adler32(first), zlib.adler32(second), len(second))
        assert combined == zlib.adler32(first + second)
    assert adler32_combine(1, zlib.adler32(b"page"), 4) == zlib.adler32(b"page")
