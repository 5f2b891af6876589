"""A learner's share page (``/s/{token}``): the certificate, its live status, the JSON and PDF
downloads and a QR code to carry the page to a phone.

The "add to wallet" QR code leads to this page itself, not to an OpenID4VCI offer: an offer
here issues a new credential when the wallet redeems it (it is signed then, bound to the wallet's
key), while a share link shows one credential already issued; the learner opens the page on the
phone and saves the JSON into the wallet from there. An ended or expired link answers 410, an
unknown one 404, in the page's language.
"""

from __future__ import annotations

import base64
import io

import qrcode
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from app import jsontext
from app.api.deps import services_of
from app.api.sharing import pdf_response
from app.db.models import utcnow
from app.services import sharing
from app.services.verification import Verifier
from app.web import branding, reading
from app.web.i18n import negotiate
from app.web.pages import page, verdict

router = APIRouter(include_in_schema=False)


def _qr_png(link: str) -> str:
    image = qrcode.make(link, box_size=4, border=2)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode("ascii")


def _private(response: Response) -> Response:
    response.headers["x-robots-tag"] = "noindex, nofollow"
    response.headers["cache-control"] = "no-store"
    response.headers["referrer-policy"] = "no-referrer"
    return response


@router.get("/s/{token}", response_class=HTMLResponse)
async def share_page(request: Request, token: str) -> Response:
    async with services_of(request).sessionmaker() as session:
        try:
            _, credential = await sharing.shared_credential(session, token)
        except sharing.ShareGone:
            return _private(page(request, "gone.html", status=410))
        except sharing.ShareNotFound:
            return _private(page(request, "not_found.html", status=404))
        brand = await branding.brand_of(session, credential.issuer_id)
    language = negotiate(request.headers.get("accept-language"))
    verifier: Verifier = services_of(request).verifier
    result = await verifier.verify_credential(credential.document, now=utcnow())
    share_url = f"{services_of(request).settings.public_url}/s/{token}"
    return _private(
        page(
            request,
            "share.html",
            brand=brand,
            base=f"/s/{token}",
            share_url=share_url,
            wallet_qr=_qr_png(share_url),
            page_image=reading.page_image(credential.document, language),
            **verdict(result, credential.document, language),
        )
    )


@router.get("/s/{token}/credential.json")
async def shared_json(request: Request, token: str) -> Response:
    async with services_of(request).sessionmaker() as session:
        _, credential = await sharing.shared_credential(session, token)
    return _private(
        Response(
            jsontext.dumps_bytes(credential.document),
            media_type="application/ld+json",
            headers={"content-disposition": 'attachment; filename="credential.json"'},
        )
    )


@router.get("/s/{token}/credential.pdf")
async def shared_pdf(
    request: Request,
    token: str,
    lang: str | None = Query(None, max_length=8, pattern=r"^[A-Za-z]{2}$"),
) -> Response:
    async with services_of(request).sessionmaker() as session:
        _, credential = await sharing.shared_credential(session, token)
        data = await sharing.credential_pdf(
            session,
            credential,
            language=sharing.pdf_language(credential, lang),
            public_url=services_of(request).settings.public_url,
        )
    return _private(pdf_response(data, "credential"))
