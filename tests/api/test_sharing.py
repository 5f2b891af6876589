"""A credential's PDF, share links, branding and the public page switch, in-process on both
databases: the PDF's text and attachment read back with pypdf, the attachment verified through
``POST /credentials/verify``; tokens stored hashed; tenant isolation; logos validated."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import text

from app.db.engine import create_engine
from app.db.models import utcnow
from tests.conftest import problem_of
from tests.factories import issuer_with_key, microcredential_body

pytestmark = pytest.mark.anyio

NAMES = {
    "pl": ("Łukasz", "Żółć"),
    "ro": ("Ştefan", "Ţăranu"),
    "el": ("Ζωή", "Παπαδοπούλου"),
    "bg": ("Йордан", "Петров"),
    "ga": ("Siobhán", "Ní Bhriain"),
    "mt": ("Ħelena", "Ġauċi"),
}


async def issue(
    client: httpx.AsyncClient, auth: dict[str, str], **overrides: Any
) -> dict[str, Any]:
    response = await client.post(
        "/microcredentials", json=microcredential_body(**overrides), headers=auth
    )
    assert response.status_code == 201, response.text
    vc: dict[str, Any] = response.json()["verifiableCredential"]
    return vc


def uuid_of(vc: dict[str, Any]) -> str:
    return str(vc["id"]).removeprefix("urn:uuid:")


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join((page.extract_text() or "") for page in reader.pages)


def embedded_fonts(data: bytes) -> set[str]:
    """The faces of the first page whose font program (FontFile2) is in the PDF."""
    names = set()
    resources: Any = PdfReader(io.BytesIO(data)).pages[0]["/Resources"]
    fonts = resources["/Font"]
    for reference in fonts.values():
        font = reference.get_object()
        descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
        if "/FontFile2" in descriptor:
            names.add(str(descriptor["/FontName"]).split("+", 1)[-1])
    return names


def pdf_attachment(data: bytes) -> bytes:
    found = PdfReader(io.BytesIO(data)).attachments["credential.json"]
    assert len(found) == 1
    return found[0]


async def test_the_pdf_has_the_names_as_text_and_the_credential_attached(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    for given, family in NAMES.values():
        learner = {"givenName": given, "familyName": family, "email": "l@example.org"}
        vc = await issue(client, auth, learner=learner)
        response = await client.get(f"/credentials/{uuid_of(vc)}/pdf", headers=auth)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/pdf"
        data = response.content
        assert data.startswith(b"%PDF-")
        words = pdf_text(data)
        assert f"{given} {family}" in words, words[:400]
        assert "Digital micro-credential creation" in words
        # The fonts are embedded: a FontFile2 stream per face used.
        assert embedded_fonts(data) == {"NotoSans", "NotoSansBold", "NotoSerifBold"}
        attached = json.loads(pdf_attachment(data))
        assert attached == vc
        verified = await client.post("/credentials/verify", json={"verifiableCredential": attached})
        assert verified.status_code == 200, verified.text
        assert verified.json()["verified"] is True
    # The same credential gives the same bytes.
    again = await client.get(f"/credentials/{uuid_of(vc)}/pdf", headers=auth)
    assert again.content == data


async def test_the_pdf_in_another_language_and_of_a_plain_vc(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    vc = await issue(client, auth)
    french = await client.get(f"/credentials/{uuid_of(vc)}/pdf?lang=fr", headers=auth)
    assert "Cette attestation certifie que" in pdf_text(french.content) or "certifi" in pdf_text(
        french.content
    )
    plain = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "issuer": issuer["did"],
        "credentialSubject": {"id": "did:example:learner", "name": "Åsa Ørsted"},
    }
    issued = await client.post("/credentials/issue", json={"credential": plain}, headers=auth)
    assert issued.status_code == 201, issued.text
    document = issued.json()["verifiableCredential"]
    response = await client.get(f"/credentials/{uuid_of(document)}/pdf", headers=auth)
    assert response.status_code == 200
    assert "Åsa Ørsted" in pdf_text(response.content)
    assert json.loads(pdf_attachment(response.content)) == document


async def test_a_key_never_reaches_another_issuers_pdf_or_shares(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    _, other = await issuer_with_key(client, admin_headers, random_slug + "-b")
    vc = await issue(client, auth)
    for method, path in (
        ("GET", f"/credentials/{uuid_of(vc)}/pdf"),
        ("POST", f"/credentials/{uuid_of(vc)}/shares"),
        ("PUT", f"/credentials/{uuid_of(vc)}/public-page"),
    ):
        body = {"enabled": False} if method == "PUT" else {}
        response = await client.request(method, path, json=body, headers=other)
        assert response.status_code == 404, (path, response.text)
        problem_of(response)
    assert (await client.get(f"/credentials/{uuid_of(vc)}/pdf")).status_code == 401
    share = await client.post(f"/credentials/{uuid_of(vc)}/shares", json={}, headers=auth)
    ended = await client.delete(
        f"/credentials/{uuid_of(vc)}/shares/{share.json()['id']}", headers=other
    )
    assert ended.status_code == 404


async def test_a_share_link_shows_the_credential_until_it_is_ended(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    random_slug: str,
    database_url: str,
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    vc = await issue(client, auth)
    response = await client.post(
        f"/credentials/{uuid_of(vc)}/shares", json={"days": 7}, headers=auth
    )
    assert response.status_code == 201, response.text
    share = response.json()
    assert set(share) == {"id", "url", "expiresAt"}
    assert share["url"].startswith("https://credentials.example.edu/s/")
    token = share["url"].rsplit("/", 1)[1]
    assert len(token) >= 43  # 32 random bytes
    path = "/s/" + token

    page = await client.get(path, headers={"accept-language": "de"})
    assert page.status_code == 200, page.text
    assert page.headers["x-robots-tag"] == "noindex, nofollow"
    html = page.text
    assert 'data-verified="true"' in html
    assert 'id="download-json"' in html and 'id="download-pdf"' in html
    assert re.search(r'id="wallet-qr" src="data:image/png;base64,', html)
    downloaded = await client.get(path + "/credential.json")
    assert downloaded.json() == vc
    pdf = await client.get(path + "/credential.pdf")
    assert pdf.status_code == 200 and json.loads(pdf_attachment(pdf.content)) == vc

    # Only the token's hash is stored.
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = (
                await connection.execute(text("SELECT token_hash FROM credential_shares"))
            ).all()
    finally:
        await engine.dispose()
    assert [row[0] for row in rows] == [hashlib.sha256(token.encode()).hexdigest()]

    assert (await client.get("/s/" + "x" * 43)).status_code == 404
    ended = await client.delete(f"/credentials/{uuid_of(vc)}/shares/{share['id']}", headers=auth)
    assert ended.status_code == 204
    assert (await client.get(path)).status_code == 410
    gone = await client.get(path + "/credential.json")
    assert gone.status_code == 410
    problem_of(gone)


async def test_an_expired_share_answers_410(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    random_slug: str,
    database_url: str,
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    vc = await issue(client, auth)
    share = (await client.post(f"/credentials/{uuid_of(vc)}/shares", headers=auth)).json()
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text("UPDATE credential_shares SET expires_at = :at WHERE id = :id"),
                {"at": utcnow() - timedelta(seconds=1), "id": share["id"]},
            )
    finally:
        await engine.dispose()
    assert (
        await client.get(share["url"].removeprefix("https://credentials.example.edu"))
    ).status_code == 410
    too_long = await client.post(
        f"/credentials/{uuid_of(vc)}/shares", json={"days": 366}, headers=auth
    )
    assert too_long.status_code == 422


async def test_the_public_page_can_be_switched_off_per_credential_and_per_issuer(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    first, second = await issue(client, auth), await issue(client, auth)
    assert (await client.get("/v/" + uuid_of(first))).status_code == 200
    off = await client.put(
        f"/credentials/{uuid_of(first)}/public-page", json={"enabled": False}, headers=auth
    )
    assert off.status_code == 200 and off.json() == {"enabled": False}
    hidden = await client.get("/v/" + uuid_of(first))
    assert hidden.status_code == 404 and hidden.headers["x-robots-tag"] == "noindex, nofollow"
    assert (await client.get("/v/" + uuid_of(second))).status_code == 200
    # A share link still works.
    share = (await client.post(f"/credentials/{uuid_of(first)}/shares", headers=auth)).json()
    shared = await client.get(share["url"].removeprefix("https://credentials.example.edu"))
    assert shared.status_code == 200

    branding = await client.put(
        f"/admin/issuers/{random_slug}/branding",
        data={"publicPages": "false"},
        headers=admin_headers,
    )
    assert branding.status_code == 200, branding.text
    assert branding.json()["publicPages"] is False
    assert (await client.get("/v/" + uuid_of(second))).status_code == 404
    # The credential's own switch wins over the issuer's.
    on = await client.put(
        f"/credentials/{uuid_of(first)}/public-page", json={"enabled": True}, headers=auth
    )
    assert on.json() == {"enabled": True}
    assert (await client.get("/v/" + uuid_of(first))).status_code == 200


def png_logo(size: tuple[int, int] = (64, 32)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", size, (200, 20, 60, 255)).save(out, format="PNG")
    return out.getvalue()


SAFE_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 40 20" width="40" height="20">'
    b'<title>Zed</title><rect x="0" y="0" width="40" height="20" fill="#1f3a68"/>'
    b'<circle cx="20" cy="10" r="6" fill="#ffffff"/></svg>'
)
BAD_SVGS = {
    "script": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    "handler": b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>',
    "external image": (
        b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
        b'<use xlink:href="https://evil.example/x.svg#a"/></svg>'
    ),
    "foreign object": (
        b'<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><div xmlns="http://www.w3.org/1999/xhtml">x</div>'
        b"</foreignObject></svg>"
    ),
    "entity": (
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa">]>'
        b'<svg xmlns="http://www.w3.org/2000/svg"><title>&a;</title></svg>'
    ),
    "style url": (
        b'<svg xmlns="http://www.w3.org/2000/svg"><rect style="fill:url(https://evil.example/p)"/></svg>'
    ),
}


async def test_branding_validates_the_logo_and_colours_the_pages_and_pdf(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    _, other_auth = await issuer_with_key(client, admin_headers, random_slug + "-plain")
    path = f"/admin/issuers/{random_slug}/branding"
    for name, svg in BAD_SVGS.items():
        refused = await client.put(
            path, files={"logo": ("logo.svg", svg, "image/svg+xml")}, headers=admin_headers
        )
        assert refused.status_code == 422, (name, refused.text)
        assert problem_of(refused)["errors"][0]["pointer"] == "/logo"
    for name, data in {
        "not an image": b"GIF89a....",
        "broken png": png_logo()[:40],
        "too large": b"\x89PNG\r\n\x1a\n" + b"\0" * 300_000,
        "too many pixels": png_logo((3000, 3000)),
    }.items():
        refused = await client.put(
            path, files={"logo": ("logo.png", data, "image/png")}, headers=admin_headers
        )
        assert refused.status_code == 422, (name, refused.text)
    bad_colour = await client.put(path, data={"colour": "red"}, headers=admin_headers)
    assert bad_colour.status_code == 422
    nothing = await client.put(path, data={"other": "x"}, headers=admin_headers)
    assert nothing.status_code == 422
    assert (await client.put(path, data={"colour": "#7a1f3d"})).status_code == 401

    done = await client.put(
        path,
        files={"logo": ("logo.svg", SAFE_SVG, "image/svg+xml")},
        data={"colour": "#7A1F3D"},
        headers=admin_headers,
    )
    assert done.status_code == 200, done.text
    assert done.json() == {
        "colour": "#7a1f3d",
        "logo": f"/issuers/{random_slug}/logo",
        "publicPages": True,
    }
    logo = await client.get(f"/issuers/{random_slug}/logo")
    assert logo.headers["content-type"] == "image/svg+xml"
    assert "sandbox" in logo.headers["content-security-policy"]
    assert logo.content == SAFE_SVG
    css = await client.get(f"/issuers/{random_slug}/brand.css")
    assert "--brand: #7a1f3d" in css.text

    vc = await issue(client, auth)
    page = await client.get("/v/" + uuid_of(vc))
    assert f'src="/issuers/{random_slug}/logo"' in page.text
    assert f'href="/issuers/{random_slug}/brand.css"' in page.text
    pdf = (await client.get(f"/credentials/{uuid_of(vc)}/pdf", headers=auth)).content
    # The colour fills the frame and header (0x7a/255 = 0.4784 ...).
    reader = PdfReader(io.BytesIO(pdf))
    drawn = reader.pages[0].get_contents()
    assert drawn is not None
    commands = drawn.get_data().decode("latin-1")
    assert "0.4784 0.1216 0.2392 rg" in commands

    png = await client.put(
        path, files={"logo": ("logo.png", png_logo(), "image/png")}, headers=admin_headers
    )
    assert png.status_code == 200
    served = await client.get(f"/issuers/{random_slug}/logo")
    assert served.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(served.content)).size == (64, 32)
    pdf = (await client.get(f"/credentials/{uuid_of(vc)}/pdf", headers=auth)).content
    images = PdfReader(io.BytesIO(pdf)).pages[0].images
    assert any(image.image is not None and image.image.size == (64, 32) for image in images)

    # The signed certificate page of an EDC issued now: the issuer's colour, its logo on the
    # header (reversed: its dark parts in paper white over the colour).
    branded = await issue(client, auth)
    page_png = branded["displayParameter"]["individualDisplay"][0]["displayDetail"][0]["image"]
    picture = Image.open(io.BytesIO(base64.b64decode(page_png["content"])))
    palette = picture.getpalette() or []
    assert tuple(palette[15 * 3 : 15 * 3 + 3]) == (0x7A, 0x1F, 0x3D)
    assert picture.getpixel((45, 100)) == 15  # the header, beside the logo
    assert picture.getpixel((112, 112)) != 15  # the logo
    plain = await issue(client, other_auth)
    picture = Image.open(
        io.BytesIO(
            base64.b64decode(
                plain["displayParameter"]["individualDisplay"][0]["displayDetail"][0]["image"][
                    "content"
                ]
            )
        )
    )
    assert picture.getpixel((112, 112)) == 15


async def test_the_verify_page_reads_the_credential_inside_a_pdf(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    from fpdf import FPDF

    from app.credentials.pdf import render_pdf
    from app.credentials.pdf_content import content_from_document

    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    vc = await issue(client, auth)
    data = (await client.get(f"/credentials/{uuid_of(vc)}/pdf", headers=auth)).content

    async def verify(pdf: bytes) -> httpx.Response:
        files = {"file": ("certificate.pdf", pdf, "application/pdf")}
        return await client.post("/verify", files=files, headers={"accept-language": "fr"})

    genuine = await verify(data)
    assert genuine.status_code == 200 and 'data-verified="true"' in genuine.text
    # A PDF whose attachment was changed: the credential inside no longer verifies.
    tampered = json.loads(pdf_attachment(data))
    tampered["credentialSubject"]["fullName"] = {"en": "Mallory"}
    forged = render_pdf(content_from_document(tampered, "en"), json.dumps(tampered).encode())
    refused = await verify(forged)
    assert refused.status_code == 422 and 'data-verified="false"' in refused.text
    assert 'data-reason="reason_proof_verification_error"' in refused.text
    assert "La signature ne correspond pas" in refused.text
    # A PDF with nothing attached, and bytes that only start like a PDF.
    plain = FPDF()
    plain.add_page()
    for pdf in (bytes(plain.output()), b"%PDF-1.7\n garbage"):
        unreadable = await verify(pdf)
        assert unreadable.status_code == 400
        assert 'data-verified="unreadable"' in unreadable.text
