"""The catalogue page in a real headless Chromium against a real ``microcred serve``: pick a
filter with the keyboard, submit the form (a plain GET, no script), read the courses shown."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import processes
from tests.api.test_catalogue import second_course
from tests.api.test_courses import course_body
from tests.api.test_serve import free_port, serve
from tests.browser import Browser
from tests.conftest import ADMIN_TOKEN
from tests.factories import issuer_body


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``microcred serve`` with one issuer and two published courses: EQF 6 in English,
    EQF 4 in French."""
    tmp_path = tmp_path_factory.mktemp("catalogue-serve")
    port = free_port()
    with (tmp_path / "serve.log").open("wb") as log:
        process = serve(tmp_path, port, 1, log)
        try:
            url = f"http://127.0.0.1:{port}"
            processes.wait_until_serving(url, process, tmp_path / "serve.log")
            admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
            with httpx.Client(base_url=url, timeout=30) as http:
                made = http.post("/admin/issuers", json=issuer_body("uni-zed"), headers=admin)
                assert made.is_success, made.text
                key = http.post(
                    "/admin/issuers/uni-zed/api-keys",
                    json={"name": "registry", "scopes": ["courses:write"]},
                    headers=admin,
                )
                auth = {"Authorization": f"Bearer {key.json()['key']}"}
                for body in (course_body(), second_course()):
                    created = http.post("/courses", json=body, headers=auth)
                    assert created.status_code == 201, created.text
            yield url
        finally:
            processes.stop(process)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    opened = Browser(tmp_path)
    try:
        yield opened
    finally:
        opened.close()


def titles(html: str) -> list[str]:
    return re.findall(r'<h2><a href="/catalogue/[^"]+">([^<]+)</a></h2>', html)


def test_the_catalogue_is_filtered_in_the_browser(
    served: str, browser: Browser, tmp_path: Path
) -> None:
    browser.open(served + "/", "en")
    assert browser.attribute('main a[href="/catalogue"]', "href") == "/catalogue"

    browser.open(served + "/catalogue", "en")
    assert sorted(titles(browser.html("main"))) == [
        "Digital micro-credential creation",
        "Gestion de données de recherche",
    ]
    browser.focus("#eqf")
    browser.press("6", 54)  # the keyboard picks EQF level 6 in the closed list
    browser.focus("#apply")
    browser.press("Enter", 13)
    browser.wait_for("Page.loadEventFired")
    browser.screenshot(tmp_path / "catalogue-eqf6.png")
    assert titles(browser.html("main")) == ["Digital micro-credential creation"]
    assert browser.attribute('#eqf option[value="6"]', "selected") is not None
    assert "1 of 2" in browser.html("#count")

    browser.open(served + "/catalogue?language=fr", "fr")
    assert browser.attribute("html", "lang") == "fr"
    assert titles(browser.html("main")) == ["Gestion de données de recherche"]
    assert "1 cours sur 2" in browser.html("#count")
