"""The certificate page: fonts that cover every EU language, captions per language, no repeated
words, a QR code that scans to the credential's public page, and a reference rendering."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont
from PIL import Image

from app.credentials import render
from app.credentials.examples import example_issuer, example_request
from app.credentials.microcredential import IssuerProfile, MicroCredentialIn
from app.credentials.render import (
    CAPTIONS_DIR,
    EU_LANGUAGES,
    FACES,
    FONTS_DIR,
    captions,
    certificate,
    distinct,
    render_page,
)

REFERENCES = Path(__file__).resolve().parent / "references"
LINK = "https://credentials.example.edu/v/3f2a5b1c-8d9e-4f01-a2b3-c4d5e6f70812"

#: Names and words in every official EU language, with the letters the built-in font lacked.
NAMES = [
    "Łukasz Żółć",  # pl
    "Ştefan Ţăranu",  # ro, cedilla forms
    "Ștefan Țăranu",  # ro, comma-below forms
    "Ζωή Παπαδοπούλου",  # el
    "Йордан Петров",  # bg
    "Siobhán Ní Bhriain",  # ga
    "Åsa Ørsted",  # sv, da
    "Ħelena Ġauċi",  # mt
    "Jiří Dvořák Ďurčo Ľudovít Ňuňo Ťažký Ŕuženka Ĺubica",  # cs, sk
    "Jüri Õunapuu Šarūnas Žemaitis Ėglė Įdomus Ųla",  # et, lt
    "Jānis Ķēniņš Ģirts Ļoļa Ņina Ūdris Īvāns",  # lv
    "Ðorđe Ćosić Čedomir Šišić",  # hr, sl
    "Árpád Őrsi Űrhajós Ödön Üveges",  # hu
    "Jürgen Groß Ärger Öl Ümit",  # de
    "François Hélène Œuvre Ÿvonne Çà Ê Î Ô Û",  # fr
    "Joaquín Muñoz Ibáñez ¿Qué? ¡Sí!",  # es
    "João Conceição Ãngela Õ",  # pt
    "Niccolò Perù Così È",  # it
    "Ærø Øster Ådal",  # da
    "Väinö Ääri Öljy",  # fi
    "IJsbrand Ëlla Ïris Ȓ",  # nl, odd Latin
]


def mc_of(**overrides: object) -> MicroCredentialIn:
    return MicroCredentialIn.model_validate(example_request(**overrides))


def cmap(face: str) -> set[int]:
    with TTFont(FONTS_DIR / FACES[face]) as font:
        return set(font.getBestCmap())


@pytest.mark.parametrize("face", sorted(FACES))
def test_every_letter_of_every_eu_language_is_in_the_fonts_character_map(face: str) -> None:
    covered = cmap(face)
    texts = list(NAMES)
    for code in EU_LANGUAGES:
        texts += captions(code).values()
    missing = {
        char for text in texts for char in text if not char.isspace() and ord(char) not in covered
    }
    assert not missing, f"{FACES[face]} lacks {sorted(missing)}"
    # The control: a character outside the subset is not in the map (the check can fail).
    assert ord("中") not in covered and ord("א") not in covered


def test_the_check_fails_for_pillows_built_in_font() -> None:
    """The font the page used before: its glyph for an accented letter is the missing-glyph box,
    the same pixels as a character no font here has."""
    from PIL import ImageDraw, ImageFont

    def drawn(font: ImageFont.FreeTypeFont | ImageFont.ImageFont, char: str) -> bytes:
        image = Image.new("L", (48, 48), 0)
        ImageDraw.Draw(image).text((8, 8), char, font=font, fill=255)
        return image.tobytes()

    default = ImageFont.load_default(size=24)
    assert drawn(default, "ł") == drawn(default, "\ue000")
    noto = render._font("sans", 24)
    assert drawn(noto, "ł") != drawn(noto, "\ue000")


def test_there_is_a_catalogue_for_each_of_the_24_eu_languages_with_the_same_captions() -> None:
    files = sorted(path.stem for path in CAPTIONS_DIR.glob("*.json"))
    assert files == sorted(EU_LANGUAGES) and len(files) == 24
    english = json.loads((CAPTIONS_DIR / "en.json").read_text("utf-8"))
    for code in EU_LANGUAGES:
        catalogue = json.loads((CAPTIONS_DIR / f"{code}.json").read_text("utf-8"))
        assert catalogue.keys() == english.keys(), code
        assert all(value.strip() == value and value for value in catalogue.values()), code
        assert "{n}" in catalogue["eqf"], code
        if code != "en":
            assert catalogue["certifies"] != english["certifies"], code
    assert captions("xx") == captions("en")


@pytest.mark.parametrize("language", EU_LANGUAGES)
def test_each_language_page_uses_its_own_captions(language: str) -> None:
    page = certificate(mc_of(), example_issuer(), language, LINK)
    texts = " ".join(page.texts)
    catalogue = captions(language)
    for key in ("heading", "awarding_body", "date_of_award", "assessment", "outcomes", "verify"):
        assert catalogue[key] in texts, (language, key)
    assert catalogue["eqf"].format(n=6) in texts
    assert catalogue["qf_first"] in texts


def repeated_words(text: str) -> list[str]:
    words = re.findall(r"\w+", text.casefold())
    return [a for a, b in zip(words, words[1:], strict=False) if a == b]


@pytest.mark.parametrize("language", EU_LANGUAGES)
@pytest.mark.parametrize("cycle", ["short-cycle", "first", "second", "third"])
def test_no_line_says_a_word_twice(language: str, cycle: str) -> None:
    mc = mc_of(
        qfEheaCycle=cycle,
        assessment={
            "type": "http://data.europa.eu/snb/assessment/6e6cb2cc78",  # "written examination"
            "title": {"en": "Written examination"},
        },
    )
    page = certificate(mc, example_issuer(), language, LINK)
    for line in page.texts:
        assert not repeated_words(line), line
    assert sum("written examination" in line.casefold() for line in page.texts) == 1


def test_distinct_drops_what_another_part_already_says() -> None:
    assert distinct(["Written examination", "written examination"]) == ["Written examination"]
    assert distinct(["Digital artefact assessment", "Artefact assessment", None, " "]) == [
        "Digital artefact assessment"
    ]
    assert distinct(["Blended", "Non-formal learning"]) == ["Blended", "Non-formal learning"]


def test_a_page_in_every_script_draws_every_name() -> None:
    for name in NAMES[:8]:
        given, family = name.split(" ", 1)
        mc = mc_of(learner={"givenName": given, "familyName": family, "email": "l@example.org"})
        assert name in certificate(mc, example_issuer(), "en").texts


def zbar(png: bytes, tmp_path: Path) -> list[str]:
    if shutil.which("zbarimg") is None:
        pytest.skip("zbarimg is not installed (.ci/run installs zbar-tools)")
    path = tmp_path / "page.png"
    path.write_bytes(png)
    done = subprocess.run(
        ["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return done.stdout.split()


def test_the_qr_code_scans_to_the_credentials_public_page(tmp_path: Path) -> None:
    png = render_page(mc_of(), example_issuer(), "en", LINK)
    assert zbar(png, tmp_path) == [LINK]
    # A page in another colour still scans (the code is drawn in ink, not in the colour).
    red = replace(example_issuer(), colour="#d81e05")
    assert zbar(render_page(mc_of(), red, "ro", LINK), tmp_path) == [LINK]
    # The control: a page without a link has no code.
    assert zbar(render_page(mc_of(), example_issuer(), "en"), tmp_path) == []


def reference_case() -> tuple[MicroCredentialIn, IssuerProfile]:
    mc = mc_of(
        learner={"givenName": "Łukasz", "familyName": "Żółć", "email": "lz@example.org"},
        title={
            "pl": "Tworzenie cyfrowych mikropoświadczeń",
            "el": "Δημιουργία ψηφιακών μικροδιαπιστευτηρίων",
        },
        qfEheaCycle="short-cycle",
    )
    issuer = IssuerProfile(
        did="did:web:credentials.example.edu:issuers:uw",
        name={"pl": "Uniwersytet Warszawski", "el": "Πανεπιστήμιο Βαρσοβίας"},
        country="POL",
        legal_identifier="PL5250011266",
        colour="#9d1c20",
    )
    return mc, issuer


@pytest.mark.parametrize("language", ["pl", "el"])
def test_the_page_is_the_reference_rendering(language: str, tmp_path: Path) -> None:
    """Rendering is deterministic (the pinned Pillow and its bundled FreeType): the page is byte
    for byte the committed reference. After a deliberate change of design, write the new pages
    with ``python -m tests.unit.test_certificate`` and look at them before committing."""
    mc, issuer = reference_case()
    png = render_page(mc, issuer, language, LINK)
    (tmp_path / f"certificate-{language}.png").write_bytes(png)
    reference = (REFERENCES / f"certificate-{language}.png").read_bytes()
    if png != reference:
        ours = Image.open(io.BytesIO(png)).convert("RGB")
        theirs = Image.open(io.BytesIO(reference)).convert("RGB")
        differing = sum(a != b for a, b in zip(ours.getdata(), theirs.getdata(), strict=True))
        pytest.fail(f"the page differs from the reference in {differing} pixels ({tmp_path})")


def write_references() -> None:
    mc, issuer = reference_case()
    REFERENCES.mkdir(exist_ok=True)
    for language in ("pl", "el"):
        (REFERENCES / f"certificate-{language}.png").write_bytes(
            render_page(mc, issuer, language, LINK)
        )


if __name__ == "__main__":
    write_references()


def test_the_qr_codewords_are_the_ones_qrcode_computes_itself() -> None:
    """render.qr_codewords replaces qrcode's Reed-Solomon step (half of its time): for links of
    every length up to a version 13 code (several blocks), the codewords are qrcode's own."""
    import random
    import uuid

    import qrcode.util

    chooser = random.Random(18)
    versions = set()
    for _ in range(200):
        host = "h" * chooser.randrange(1, 300)
        data = f"https://{host}.example/v/{uuid.UUID(int=chooser.getrandbits(128))}".encode()
        version = render._qr_version(len(data))
        code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
        code.add_data(data, optimize=0)
        assert code.best_fit() == version
        ours = render.qr_codewords(version, data)
        assert ours == qrcode.util.create_data(version, code.error_correction, code.data_list)
        versions.add(version)
    assert len(versions) > 8
