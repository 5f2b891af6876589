"""``/docs`` and ``/redoc`` name no other host: their assets come from the service itself, and their
Content-Security-Policy allows nothing else."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
import yaml
from starlette.responses import HTMLResponse

from app.docs import ASSETS, ASSETS_DIR, ASSETS_URL, with_csp
from tests import processes
from tests.api.test_serve import ROOT, free_port, serve

ABSOLUTE_URL = re.compile(r"""(?:https?:)?//[^\s"'<>()]+""")


class References(HTMLParser):
    """Every ``src`` and ``href`` in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found += [value for name, value in attrs if name in ("src", "href") and value]


def references(html: str) -> list[str]:
    parser = References()
    parser.feed(html)
    return parser.found


@pytest.mark.anyio
@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_page_names_no_other_host_and_each_reference_answers(
    client: httpx.AsyncClient, page: str
) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert ABSOLUTE_URL.findall(html) == []  # no http(s):// nor protocol-relative //host URL
    found = references(html)
    assert len(found) >= 2  # the script and the icon (and Swagger UI's style sheet)
    for reference in found:
        assert reference.startswith(ASSETS_URL + "/"), reference
        asset = await client.get(reference)
        assert asset.status_code == 200, reference
        assert asset.content == (ASSETS_DIR / reference.rsplit("/", 1)[1]).read_bytes()
    assert "'/openapi.json'" in html or '"/openapi.json"' in html
    assert (await client.get("/openapi.json")).status_code == 200
    assert_same_origin_only(response.headers["content-security-policy"])


#: The sources a docs page's CSP may name: none is a host.
ALLOWED_SOURCES = {"'none'", "'self'", "'unsafe-inline'", "data:", "blob:"}


def assert_same_origin_only(policy: str) -> None:
    directives = dict(
        (name, sources) for name, *sources in (part.split() for part in policy.split(";"))
    )
    assert directives["default-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    for name, sources in directives.items():
        for source in sources:
            assert source in ALLOWED_SOURCES or source.startswith("'sha256-"), (name, source)
    assert "'unsafe-inline'" not in directives["script-src"]


@pytest.mark.anyio
async def test_every_asset_answers_200_with_its_type(client: httpx.AsyncClient) -> None:
    types = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
    for name in ASSETS:
        response = await client.get(f"{ASSETS_URL}/{name}")
        assert response.status_code == 200, name
        assert response.headers["content-type"].startswith(types[name[name.rindex(".") :]])
        assert len(response.content) > 1000
    assert (await client.get(f"{ASSETS_URL}/nothing.js")).status_code == 404


@pytest.mark.anyio
async def test_swagger_ui_is_told_not_to_fetch_the_validator_badge(
    client: httpx.AsyncClient,
) -> None:
    html = (await client.get("/docs")).text
    assert '"validatorUrl": null' in html


@pytest.mark.anyio
async def test_the_oauth2_redirect_page_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs/oauth2-redirect")
    assert response.status_code == 200
    assert ABSOLUTE_URL.findall(response.text) == []
    assert_same_origin_only(response.headers["content-security-policy"])


def test_the_policy_allows_each_inline_script_by_its_hash_and_no_other() -> None:
    page = HTMLResponse(
        "<script src='/x.js'></script><script>run(1)</script><script>run(2)</script>"
    )
    policy = with_csp(page).headers["content-security-policy"]
    script_src = next(p for p in policy.split("; ") if p.startswith("script-src")).split()[1:]
    digests = [
        "'sha256-" + base64.b64encode(hashlib.sha256(code).digest()).decode() + "'"
        for code in (b"run(1)", b"run(2)")
    ]
    assert script_src == ["'self'", *digests]


# -- in a real browser, with the network cut off -------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: Every host name resolves to nothing but 127.0.0.1, and what is not loopback goes to a closed
#: proxy port: a page that needs anything beyond the service stays empty.
NO_NETWORK = [
    "--proxy-server=socks5://127.0.0.1:9",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``microcred serve`` (one worker) on a loopback port; its base URL."""
    tmp_path = tmp_path_factory.mktemp("docs-serve")
    port = free_port()
    with (tmp_path / "serve.log").open("wb") as log:
        process = serve(tmp_path, port, 1, log)
        try:
            url = f"http://127.0.0.1:{port}"
            processes.wait_until_serving(url, process, tmp_path / "serve.log")
            yield url
        finally:
            processes.stop(process)


def rendered(url: str, tmp_path: Path) -> tuple[str, list[str]]:
    """The DOM of ``url`` after headless Chromium ran its scripts (15 s of virtual time), and what
    the Content-Security-Policy blocked (the console's messages)."""
    if CHROMIUM is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI needs chromium (.ci/run installs it)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
    command += [f"--user-data-dir={tmp_path / 'profile'}", *NO_NETWORK]
    command += [
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=15000",
        "--dump-dom",
        url,
    ]
    env = {**os.environ, "HOME": str(tmp_path)}  # its crash-report folder too goes to tmp_path
    env.update(XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_CACHE_HOME=str(tmp_path / "cache"))
    result = processes.run(command, timeout=120, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout, CSP_VIOLATION.findall(result.stderr)


CSP_VIOLATION = re.compile(
    r"CONSOLE.*?(Loading .*?) violates the following Content Security Policy"
)


def documented_operations() -> list[tuple[str, str, str]]:
    """(method, path, operationId) of every operation in ``openapi.yaml``."""
    document = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
    return [
        (method, path, operation["operationId"])
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in ("get", "put", "post", "delete", "patch")
    ]


def test_swagger_ui_lists_every_operation_offline(served: str, tmp_path: Path) -> None:
    dom, blocked = rendered(served + "/docs", tmp_path)
    assert blocked == []
    blocks = re.findall(r'class="opblock opblock-(get|put|post|delete|patch)\b', dom)
    paths = re.findall(r'class="opblock-summary-path" data-path="([^"]+)"', dom)
    operations = documented_operations()
    assert len(operations) > 20
    assert sorted(blocks) == sorted(method for method, _, _ in operations)
    assert sorted(paths) == sorted(path for _, path, _ in operations)


def test_redoc_lists_every_operation_offline(served: str, tmp_path: Path) -> None:
    dom, blocked = rendered(served + "/redoc", tmp_path)
    sections = set(re.findall(r'data-section-id="operation/([^"]+)"', dom))
    assert sections == {operation_id for _, _, operation_id in documented_operations()}
    # the bundle's one outside reference, the "powered by" logo, is blocked by the policy
    assert blocked == ["Loading the image 'https://cdn.redoc.ly/redoc/logo-mini.svg'"]
