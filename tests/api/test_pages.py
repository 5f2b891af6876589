"""The front door and the verify page, in-process: what the HTML says, in which language, under
which policy; the same verdicts as ``POST /credentials/verify``."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest

from app.web.i18n import LANGUAGES, messages, negotiate
from tests.api.test_docs import ABSOLUTE_URL, references
from tests.factories import issuer_with_key, microcredential_body, vc2_credential

pytestmark = pytest.mark.anyio


async def issued(client: httpx.AsyncClient, auth: dict[str, str]) -> dict[str, Any]:
    response = await client.post("/microcredentials", json=microcredential_body(), headers=auth)
    assert response.status_code == 201, response.text
    vc: dict[str, Any] = response.json()["verifiableCredential"]
    return vc


async def revoke(client: httpx.AsyncClient, auth: dict[str, str], vc: dict[str, Any]) -> None:
    body = {"credentialId": vc["id"], "credentialStatus": [{"status": "revoked"}]}
    response = await client.post("/credentials/status", json=body, headers=auth)
    assert response.status_code == 200, response.text


async def verify_page(
    client: httpx.AsyncClient, document: Any, language: str = "en", *, pasted: bool = False
) -> httpx.Response:
    text = document if isinstance(document, str) else json.dumps(document)
    headers = {"accept-language": language}
    if pasted:
        return await client.post("/verify", data={"json": text}, headers=headers)
    files = {"file": ("credential.json", text.encode(), "application/json")}
    return await client.post("/verify", files=files, headers=headers)


def verdict(html: str) -> str:
    match = re.search(r'id="verdict"[^>]*data-verified="([a-z]+)"', html, re.S)
    assert match is not None, html[:2000]
    return match.group(1)


def check_states(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-check="([a-z_]+)" data-state="([a-z_]+)"', html))


class Labelled(HTMLParser):
    """Every form control's id, and the ids that a ``<label for>`` names."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[str] = []
        self.labels: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag in ("input", "textarea", "select"):
            self.controls.append(named.get("id") or "")
        if tag == "label" and named.get("for"):
            self.labels.add(named["for"] or "")


async def test_the_front_page_names_the_service_its_issuers_and_where_to_go(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    await issuer_with_key(client, admin_headers, random_slug, name={"en": "Uni Ħal Żebbuġ"})
    response = await client.get("/", headers={"accept-language": "en"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert '<html lang="en">' in html
    assert "Uni Ħal Żebbuġ" in html
    found = references(html)
    assert {"/verify", "/docs", "/static/site.css"} <= set(found)
    for reference in found:
        assert (await client.get(reference)).status_code == 200, reference
    assert ABSOLUTE_URL.findall(html) == []


async def test_pages_allow_nothing_from_another_host_and_no_script(
    client: httpx.AsyncClient,
) -> None:
    for path in ("/", "/verify"):
        response = await client.get(path)
        policy = dict(
            (name, sources)
            for name, *sources in (
                part.split() for part in response.headers["content-security-policy"].split(";")
            )
        )
        assert policy["default-src"] == ["'none'"]
        assert "script-src" not in policy  # falls back to 'none'
        assert policy["form-action"] == ["'self'"] and policy["frame-ancestors"] == ["'none'"]
        assert "<script" not in response.text
    css = await client.get("/static/site.css")
    assert css.headers["content-type"].startswith("text/css")
    assert "url(" not in css.text and "@import" not in css.text


async def test_the_form_labels_every_control_and_needs_no_javascript(
    client: httpx.AsyncClient,
) -> None:
    html = (await client.get("/verify")).text
    parser = Labelled()
    parser.feed(html)
    assert sorted(parser.controls) == ["course", "file", "format", "json"]  # verify; ask a wallet
    assert set(parser.controls) <= parser.labels
    assert 'method="post"' in html and 'enctype="multipart/form-data"' in html


async def test_a_genuine_credential_is_verified_and_read_out(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    vc = await issued(client, auth)
    api = await client.post("/credentials/verify", json={"verifiableCredential": vc})
    assert api.status_code == 200
    response = await verify_page(client, vc)
    assert response.status_code == 200
    assert verdict(response.text) == "true"
    assert check_states(response.text) == {
        "check_signature": "ok",
        "check_issuer": "ok",
        "check_status": "ok",
        "check_validity": "ok",
        "check_eu": "ok",
    }
    assert "Digital micro-credential creation" in response.text
    assert "Aoife Murphy" in response.text and "University of Zed" in response.text
    pasted = await verify_page(client, vc, pasted=True)
    assert verdict(pasted.text) == "true"


async def test_a_revoked_credential_is_refused_and_says_why(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    vc = await issued(client, auth)
    await revoke(client, auth, vc)
    api = await client.post("/credentials/verify", json={"verifiableCredential": vc})
    assert api.status_code == 422
    response = await verify_page(client, vc)
    assert response.status_code == 422
    assert verdict(response.text) == "false"
    states = check_states(response.text)
    assert states["check_status"] == "failed" and states["check_signature"] == "ok"
    assert "revoked" in response.text.lower()


async def test_a_tampered_credential_fails_its_signature(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    vc = await issued(client, auth)
    vc["credentialSubject"]["fullName"] = {"en": "Somebody Else"}
    response = await verify_page(client, vc)
    assert verdict(response.text) == "false"
    assert check_states(response.text)["check_signature"] == "failed"


@pytest.mark.parametrize(
    "text", ["", "not json", "[1, 2]", '{"a": 1, "a": 2}', '{"type": "nothing"}']
)
async def test_what_is_not_a_credential_is_unreadable_not_an_error(
    client: httpx.AsyncClient, text: str
) -> None:
    response = await verify_page(client, text)
    assert response.status_code == 400
    assert verdict(response.text) == "unreadable"
    assert 'id="verify-form"' in response.text  # the form again, to try once more


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("fr-FR,fr;q=0.9,en;q=0.5", "fr"),
        ("de", "de"),
        ("ro-RO", "ro"),
        ("es-ES,es;q=0.9", "en"),
        ("pl;q=0.9,de;q=0.8", "de"),
        ("en;q=0.1,fr;q=0.7", "fr"),
        ("", "en"),
        ("*", "en"),
        ("fr;q=0", "en"),
    ],
)
async def test_the_page_speaks_the_viewers_language(
    client: httpx.AsyncClient, accept: str, expected: str
) -> None:
    assert negotiate(accept) == expected
    html = (await client.get("/verify", headers={"accept-language": accept})).text
    assert f'<html lang="{expected}">' in html
    assert messages(expected)["verify_intro"] in html


def test_every_catalogue_has_every_message() -> None:
    english = messages("en")
    for code in LANGUAGES:
        catalogue = messages(code)
        assert catalogue.keys() == english.keys(), code
        if code != "en":
            assert catalogue["verified"] != english["verified"]


async def test_the_public_page_shows_the_certificate_and_its_live_status(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    vc = await issued(client, auth)
    uuid = vc["id"].removeprefix("urn:uuid:")
    response = await client.get(f"/v/{uuid}", headers={"accept-language": "ga,en;q=0.5"})
    assert response.status_code == 200
    assert response.headers["x-robots-tag"] == "noindex, nofollow"
    assert '<meta name="robots" content="noindex, nofollow">' in response.text
    assert verdict(response.text) == "true"
    assert "Aoife Murphy" in response.text
    shown = re.search(r'src="data:image/png;base64,([^"]+)"', response.text)
    assert shown is not None
    english = vc["displayParameter"]["individualDisplay"][0]
    assert english["language"]["id"].endswith("/ENG")
    assert shown.group(1) == english["displayDetail"][0]["image"]["content"]

    await revoke(client, auth, vc)
    after = await client.get(f"/v/{uuid}")
    assert verdict(after.text) == "false"
    assert check_states(after.text)["check_status"] == "failed"


@pytest.mark.parametrize(
    "path", ["/v/3f2a5b1c-8d9e-4f01-a2b3-c4d5e6f70812", "/v/not-a-uuid", "/v/%3Cscript%3E"]
)
async def test_no_credential_no_public_page(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["x-robots-tag"] == "noindex, nofollow"


async def test_a_plain_credential_has_no_eu_check_and_an_open_badge_is_read_out(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    plain = await client.post(
        "/credentials/issue", json={"credential": vc2_credential(issuer["did"])}, headers=auth
    )
    assert plain.status_code == 201, plain.text
    response = await verify_page(client, plain.json()["verifiableCredential"])
    assert verdict(response.text) == "true"
    states = check_states(response.text)
    assert states["check_eu"] == "not_applicable" and states["check_signature"] == "ok"
    # The issuer is a DID string here: the page names it.
    assert issuer["did"] in response.text

    badge = await client.post("/microcredentials", json=microcredential_body("obv3"), headers=auth)
    assert badge.status_code == 201, badge.text
    read = await verify_page(client, badge.json()["verifiableCredential"], "de")
    assert verdict(read.text) == "true"
    assert check_states(read.text)["check_eu"] == "ok"
    assert "Digital micro-credential creation" in read.text
    assert "Einen weiteren Nachweis prüfen" in read.text
