"""A credential's PDF, learners' share links, the public page switch, and issuers' branding."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Response, UploadFile

from app.api.auth import AdminDep, IssueCaller, ReadCaller
from app.api.deps import SessionDep, SettingsDep
from app.api.schemas.sharing import (
    BrandingReply,
    PublicPage,
    ShareReply,
    ShareRequest,
)
from app.credentials.logos import MAX_LOGO_BYTES, SVG, LogoRefused, check_logo
from app.problems import NotFound, ValidationFailed
from app.services import issuance, sharing
from app.services import issuers as issuer_service

router = APIRouter(tags=["pages"])
admin_router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[AdminDep])

PDF_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}}, "description": "The PDF"}
}
#: An SVG logo opened on its own: no script, nothing loaded, no frame.
LOGO_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


def pdf_response(data: bytes, name: str) -> Response:
    return Response(
        data,
        media_type="application/pdf",
        headers={
            "content-disposition": f'attachment; filename="{name}.pdf"',
            "cache-control": "no-store",
            "x-content-type-options": "nosniff",
        },
    )


@router.get(
    "/credentials/{credential_id}/pdf",
    response_class=Response,
    responses={**PDF_RESPONSE, 404: {"description": "Unknown id"}},
)
async def credential_pdf(
    credential_id: str,
    session: SessionDep,
    settings: SettingsDep,
    caller: ReadCaller,
    lang: Annotated[str | None, Query(max_length=8, pattern=r"^[A-Za-z]{2}$")] = None,
) -> Response:
    """The credential as a PDF: the certificate's design with real text (fonts embedded) and
    the signed credential attached as `credential.json`; `lang` picks the captions' language
    (any of the 24 official EU languages; default the credential's first)."""
    credential = await issuance.find_credential(session, caller.issuer, credential_id)
    data = await sharing.credential_pdf(
        session,
        credential,
        language=sharing.pdf_language(credential, lang),
        public_url=settings.public_url,
    )
    return pdf_response(data, "credential")


@router.post(
    "/credentials/{credential_id}/shares",
    status_code=201,
    responses={404: {"description": "Unknown id"}},
)
async def create_share(
    credential_id: str,
    session: SessionDep,
    settings: SettingsDep,
    caller: ReadCaller,
    body: ShareRequest | None = None,
) -> ShareReply:
    """A learner's share link: a page with the certificate, its live status, the JSON and PDF
    downloads and an add-to-wallet QR code. The URL is shown only here."""
    credential = await issuance.find_credential(session, caller.issuer, credential_id)
    made = await sharing.create_share(
        session, credential, days=(body or ShareRequest()).days, actor=caller.actor
    )
    return ShareReply(
        id=made.share.id,
        url=f"{settings.public_url}/s/{made.token}",
        expiresAt=made.share.expires_at,
    )


@router.delete(
    "/credentials/{credential_id}/shares/{share_id}",
    status_code=204,
    responses={404: {"description": "Unknown credential or share"}},
)
async def end_share(
    credential_id: str, share_id: str, session: SessionDep, caller: ReadCaller
) -> Response:
    """End a share link at once (its page then answers 410)."""
    credential = await issuance.find_credential(session, caller.issuer, credential_id)
    await sharing.end_share(session, credential, share_id, actor=caller.actor)
    return Response(status_code=204)


@router.put(
    "/credentials/{credential_id}/public-page",
    responses={404: {"description": "Unknown id"}},
)
async def set_public_page(
    credential_id: str, body: PublicPage, session: SessionDep, caller: IssueCaller
) -> PublicPage:
    """Switch the credential's public page (`/v/{uuid}`, its certificate's QR code) on or off.
    Off, the page answers 404; share links still work."""
    credential = await issuance.find_credential(session, caller.issuer, credential_id)
    await sharing.set_public_page(session, credential, body.enabled, actor=caller.actor)
    return PublicPage(enabled=await sharing.public_page_enabled(session, credential))


@admin_router.put("/issuers/{slug}/branding")
async def put_branding(
    slug: str,
    session: SessionDep,
    logo: Annotated[UploadFile | None, File(description="PNG or SVG, at most 256 KiB")] = None,
    colour: Annotated[
        str | None,
        Form(
            pattern=r"^#[0-9a-fA-F]{6}$",
            description="the colour of certificates, PDFs and pages, `#rrggbb`; absent: unchanged",
        ),
    ] = None,
    publicPages: Annotated[  # noqa: N803 (the API's field name)
        bool | None,
        Form(
            description="false switches off the public pages of all the issuer's credentials, "
            "true switches them back on; absent: unchanged"
        ),
    ] = None,
    removeLogo: Annotated[  # noqa: N803
        bool, Form(description="true removes the current logo (default false)")
    ] = False,
) -> BrandingReply:
    """The issuer's logo and colour on its certificates, PDFs and pages, and whether its
    credentials have public pages (`publicPages=false` switches them all off). Give only what
    changes."""
    issuer = await issuer_service.get_issuer(session, slug)
    if logo is None and colour is None and publicPages is None and not removeLogo:
        detail = "give at least one of logo, colour, publicPages, removeLogo"
        raise ValidationFailed(detail, errors=[{"pointer": "", "detail": detail}])
    checked = None
    if logo is not None:
        data = await logo.read(MAX_LOGO_BYTES + 1)
        try:
            checked = check_logo(data)
        except LogoRefused as exc:
            raise ValidationFailed(
                str(exc), errors=[{"pointer": "/logo", "detail": str(exc)}]
            ) from None
    branding = await sharing.put_branding(
        session,
        issuer,
        colour=colour,
        logo=checked,
        remove_logo=removeLogo,
        public_pages=publicPages,
        actor="admin",
    )
    return BrandingReply(
        colour=branding.colour,
        logo=f"/issuers/{slug}/logo" if branding.logo else None,
        publicPages=branding.public_pages,
    )


class LogoNotFound(NotFound):
    title = "No logo"


@router.get(
    "/issuers/{slug}/logo",
    response_class=Response,
    responses={
        200: {"content": {"image/png": {}, SVG: {}}, "description": "The logo"},
        404: {"description": "Unknown issuer or no logo"},
    },
)
async def issuer_logo(slug: str, session: SessionDep) -> Response:
    """The issuer's logo (PNG or SVG), as validated on upload."""
    issuer = await issuer_service.get_issuer(session, slug)
    assert issuer.id is not None
    branding = await sharing.branding_of(session, issuer.id)
    if branding is None or branding.logo is None or branding.logo_type is None:
        raise LogoNotFound(f"issuer {slug!r} has no logo")
    return Response(
        branding.logo,
        media_type=branding.logo_type,
        headers={
            "content-security-policy": LOGO_POLICY,
            "x-content-type-options": "nosniff",
            "cache-control": "public, max-age=300",
        },
    )
