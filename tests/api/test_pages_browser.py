"""The verify page in a real headless Chromium against a real ``microcred serve``: pick a
credential file, submit with the keyboard, read the verdict from the DOM; screenshots are kept
in the test's tmp_path."""

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
    """A real ``microcred serve`` with one issuer, and a folder holding one genuine and one
    revoked credential it issued (``genuine.json``, ``revoked.jsonld``)."""
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
        assert http.post("/admin/issuers", json=issuer_body("uni-zed"), headers=admin).is_success
        key = http.post(
            "/admin/issuers/uni-zed/api-keys",
            json={"name": "records", "scopes": ["credentials:issue", "credentials:status"]},
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
    (folder / "genuine.json").write_text(json.dumps(vcs[0]), encoding="utf-8")
    (folder / "revoked.jsonld").write_text(json.dumps(vcs[1]), encoding="utf-8")


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
