"""The verify page in a real headless Chromium against a real ``microcred serve``: pick a
credential file or its PDF, submit with the keyboard, read the verdict and who vouches for the
issuer from the DOM; screenshots are kept in the test's tmp_path."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import processes
from tests.api.test_serve import free_port, serve
from tests.browser import Browser
from tests.conftest import ADMIN_TOKEN
from tests.factories import issuer_body, microcredential_body


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A real ``microcred serve`` with two issuers, one on the service's trust list, and a folder
    holding a genuine and a revoked credential of the trusted one (``genuine.json``,
    ``revoked.jsonld``, and their PDFs ``genuine.pdf``, ``revoked.pdf``) and one of the issuer
    no list vouches for (``unvouched.json``)."""
    tmp_path = tmp_path_factory.mktemp("pages-serve")
    port = free_port()
    with (tmp_path / "serve.log").open("wb") as log:
        process = serve(tmp_path, port, 1, log)
        try:
            url = f"http://127.0.0.1:{port}"
            processes.wait_until_serving(url, process, tmp_path / "serve.log")
            issue_two(url, tmp_path)
            yield url, tmp_path
        finally:
            processes.stop(process)


def issue_two(url: str, folder: Path) -> None:
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=url, timeout=30) as http:
        created = http.post("/admin/issuers", json=issuer_body("uni-zed"), headers=admin)
        assert created.is_success, created.text
        trusted = {"legalName": "University of Zed", "country": "IRL", "legalIdentifier": "IE1"}
        listed = http.put(f"/admin/trust/{created.json()['did']}", json=trusted, headers=admin)
        assert listed.status_code == 200, listed.text
        key = http.post(
            "/admin/issuers/uni-zed/api-keys",
            json={"name": "records", "scopes": SCOPES},
            headers=admin,
        )
        assert key.status_code == 201, key.text
        auth = {"Authorization": f"Bearer {key.json()['key']}"}
        vcs: list[dict[str, Any]] = []
        for _ in range(2):
            issued = http.post("/microcredentials", json=microcredential_body(), headers=auth)
            assert issued.status_code == 201, issued.text
            vcs.append(issued.json()["verifiableCredential"])
        body = {"credentialId": vcs[1]["id"], "credentialStatus": [{"status": "revoked"}]}
        assert http.post("/credentials/status", json=body, headers=auth).status_code == 200
        for vc, name in zip(vcs, ("genuine", "revoked"), strict=True):
            pdf = http.get(f"/credentials/{vc['id'].removeprefix('urn:uuid:')}/pdf", headers=auth)
            assert pdf.status_code == 200, pdf.text
            (folder / f"{name}.pdf").write_bytes(pdf.content)
        (folder / "unvouched.json").write_text(json.dumps(unvouched(http, admin)), encoding="utf-8")
    (folder / "genuine.json").write_text(json.dumps(vcs[0]), encoding="utf-8")
    (folder / "revoked.jsonld").write_text(json.dumps(vcs[1]), encoding="utf-8")


SCOPES = ["credentials:issue", "credentials:status", "credentials:read"]


def unvouched(http: httpx.Client, admin: dict[str, str]) -> dict[str, Any]:
    """A credential of an issuer hosted here that no trust list vouches for; it calls itself
    "Universität Nirgendwo"."""
    body = issuer_body("uni-nowhere", name={"en": "Universität Nirgendwo"})
    assert http.post("/admin/issuers", json=body, headers=admin).is_success
    key = http.post(
        "/admin/issuers/uni-nowhere/api-keys", json={"name": "r", "scopes": SCOPES}, headers=admin
    )
    auth = {"Authorization": f"Bearer {key.json()['key']}"}
    mc = microcredential_body()
    issued = http.post("/microcredentials", json=mc, headers=auth)
    assert issued.status_code == 201, issued.text
    vc: dict[str, Any] = issued.json()["verifiableCredential"]
    return vc


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    opened = Browser(tmp_path)
    try:
        yield opened
    finally:
        opened.close()


def submit_file(browser: Browser, url: str, path: Path, language: str) -> None:
    browser.open(url + "/verify", language)
    browser.choose_file("#file", path)
    browser.focus("#verify-button")
    browser.press("Enter", 13)  # the keyboard alone submits the form
    browser.wait_for("Page.loadEventFired")


def states(html: str) -> dict[str, str]:
    import re

    return dict(re.findall(r'data-check="([a-z_]+)" data-state="([a-z_]+)"', html))


def test_a_genuine_credential_file_is_verified_in_the_browser(
    served: tuple[str, Path], browser: Browser, tmp_path: Path
) -> None:
    url, folder = served
    submit_file(browser, url, folder / "genuine.json", "en")
    browser.screenshot(tmp_path / "verified-en.png")
    assert browser.attribute("html", "lang") == "en"
    assert browser.attribute("#verdict", "data-verified") == "true"
    checks = states(browser.html(".checks"))
    assert checks["check_signature"] == "ok" and checks["check_status"] == "ok"
    assert "Aoife Murphy" in browser.html("#credential-learner")
    assert "Digital micro-credential creation" in browser.html("#credential-title")


def test_a_revoked_credential_file_is_refused_in_the_viewers_language(
    served: tuple[str, Path], browser: Browser, tmp_path: Path
) -> None:
    url, folder = served
    submit_file(browser, url, folder / "revoked.jsonld", "fr-FR,fr;q=0.9")
    browser.screenshot(tmp_path / "refused-fr.png")
    assert browser.attribute("html", "lang") == "fr"
    assert browser.attribute("#verdict", "data-verified") == "false"
    assert "Non vérifiée" in browser.html("#verdict")
    checks = states(browser.html(".checks"))
    assert checks["check_status"] == "failed" and checks["check_signature"] == "ok"


def test_the_front_page_links_to_the_verify_page(
    served: tuple[str, Path], browser: Browser, tmp_path: Path
) -> None:
    url, _ = served
    browser.open(url + "/", "de")
    browser.screenshot(tmp_path / "front-de.png")
    assert browser.attribute("html", "lang") == "de"
    assert "University of Zed" in browser.html("main")
    assert browser.attribute('a[href="/verify"]', "href") == "/verify"


def test_the_certificates_public_page_shows_it_and_its_status(
    served: tuple[str, Path], browser: Browser, tmp_path: Path
) -> None:
    url, folder = served
    vc = json.loads((folder / "genuine.json").read_text(encoding="utf-8"))
    browser.open(url + "/v/" + vc["id"].removeprefix("urn:uuid:"), "en")
    browser.screenshot(tmp_path / "public-en.png")
    assert browser.attribute('meta[name="robots"]', "content") == "noindex, nofollow"
    assert browser.attribute("#verdict", "data-verified") == "true"
    source = browser.attribute(".certificate img", "src") or ""
    assert source.startswith("data:image/png;base64,")
    # The picture rendered: its natural size is the page's (no broken image under the policy).
    node = browser.node(".certificate img")
    box = browser.send("DOM.getBoxModel", nodeId=node)["model"]
    assert box["width"] > 300 and box["height"] > 400


def test_a_certificates_pdf_is_verified_in_the_browser_and_its_issuer_vouched_for(
    served: tuple[str, Path], browser: Browser, tmp_path: Path
) -> None:
    url, folder = served
    submit_file(browser, url, folder / "genuine.pdf", "en")
    browser.screenshot(tmp_path / "pdf-verified-en.png")
    assert browser.attribute("#verdict", "data-verified") == "true"
    assert "Aoife Murphy" in browser.html("#credential-learner")
    # Trust comes first, in words, with the registered legal name.
    main = browser.html("main")
    assert main.index('id="trust"') < main.index('id="verdict"')
    assert browser.attribute("#trust", "data-trusted") == "true"
    assert "Vouched for by this service's trust list: University of Zed" in browser.html("#trust")
    assert browser.attribute("#credential-issuer", "data-vouched") == "true"


def test_a_revoked_credentials_pdf_is_refused_with_the_reason_in_words(
    served: tuple[str, Path], browser: Browser, tmp_path: Path
) -> None:
    url, folder = served
    submit_file(browser, url, folder / "revoked.pdf", "ro-RO,ro;q=0.9")
    browser.screenshot(tmp_path / "pdf-refused-ro.png")
    assert browser.attribute("html", "lang") == "ro"
    assert browser.attribute("#verdict", "data-verified") == "false"
    assert states(browser.html(".checks"))["check_status"] == "failed"
    reason = browser.html('[data-reason="reason_credential_revoked"]')
    assert "Emitentul a revocat acest certificat." in reason


def test_an_issuer_no_list_vouches_for_is_said_so_and_its_name_not_vouched(
    served: tuple[str, Path], browser: Browser, tmp_path: Path
) -> None:
    url, folder = served
    submit_file(browser, url, folder / "unvouched.json", "en")
    browser.screenshot(tmp_path / "unvouched-en.png")
    # The signature holds: the verdict may be "verified", but trust says no one vouches.
    assert browser.attribute("#trust", "data-trusted") == "false"
    trust = browser.html("#trust")
    assert "No trust list we use vouches for this issuer" in trust
    assert "Nirgendwo" not in trust
    issuer = browser.html("#credential-issuer")
    assert browser.attribute("#credential-issuer", "data-vouched") == "false"
    assert "Universität Nirgendwo" in issuer
    summary = browser.html(".summary")
    assert "as written in the credential (not confirmed)" in summary
    assert "registered name" not in summary

    vc = json.loads((folder / "unvouched.json").read_text(encoding="utf-8"))
    browser.open(url + "/v/" + vc["id"].removeprefix("urn:uuid:"), "de")
    browser.screenshot(tmp_path / "unvouched-public-de.png")
    main = browser.html("main")
    assert main.index('id="trust"') < main.index('id="verdict"')
    assert "Keine Vertrauensliste, die wir nutzen, bürgt für diesen Aussteller" in main
