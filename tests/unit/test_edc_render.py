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
