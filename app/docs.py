"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) with their scripts, style sheet and icon served
by the service itself, from the files the ``fastapi-offline`` package ships (MIT; the bundles carry
their own licence banners), so that the pages work with no network beyond the service.

FastAPI's default pages load these from a CDN (and ReDoc its fonts from Google): offline they
stay blank. The pages name no other host; Swagger UI's validator badge (an image from
validator.swagger.io) is turned off, and a Content-Security-Policy lets the pages load only from
the service (their one inline script allowed by its hash).
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
ASSETS_URL = "/docs/assets"
ASSETS_DIR = Path(fastapi_offline.__file__).resolve().parent / "static"
#: The files under ASSETS_URL (all of ASSETS_DIR).
ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png")
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)
#: Same origin only; the bundles set inline styles, ReDoc runs its search in a blob: worker.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def with_csp(page: HTMLResponse) -> HTMLResponse:
    """``page`` with a Content-Security-Policy that allows its inline scripts by their hashes."""
    hashes = "".join(
        " 'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(bytes(page.body).decode())
    )
    page.headers["content-security-policy"] = DOCS_CSP.format(hashes=hashes)
    return page


def install_docs(app: FastAPI) -> None:
    """Add the two pages, the OAuth2 redirect page and the assets to ``app`` (created with
    ``docs_url=None, redoc_url=None``)."""
    openapi_url = app.openapi_url or "/openapi.json"
    redirect_url = app.swagger_ui_oauth2_redirect_url or "/docs/oauth2-redirect"
    parameters = {**(app.swagger_ui_parameters or {}), "validatorUrl": None}
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="docs-assets")

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return with_csp(
            get_swagger_ui_html(
                openapi_url=root + openapi_url,
                title=f"{app.title} - Swagger UI",
                oauth2_redirect_url=root + redirect_url,
                swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
                swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
                swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
                swagger_ui_parameters=parameters,
            )
        )

    @app.get(redirect_url, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return with_csp(get_swagger_ui_oauth2_redirect_html())

    @app.get(REDOC_URL, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return with_csp(
            get_redoc_html(
                openapi_url=root + openapi_url,
                title=f"{app.title} - ReDoc",
                redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
                redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
                with_google_fonts=False,
            )
        )
