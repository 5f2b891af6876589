"""An issuer's branding on the pages: its logo (served by ``GET /issuers/{slug}/logo``) and its
colour, through a stylesheet of its own (``GET /issuers/{slug}/brand.css``): the pages' policy
allows no inline style."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter
from fastapi.responses import Response
from sqlmodel.ext.asyncio.session import AsyncSession

from app.api.deps import SessionDep
from app.db.models import Issuer
from app.services import issuers as issuer_service
from app.services import sharing

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Brand:
    slug: str
    name: dict[str, str]
    logo: str | None
    """The logo's path on this service, when the issuer has one."""
    stylesheet: str | None
    """The issuer's colour as a stylesheet, when it has one."""


async def brand_of(session: AsyncSession, issuer_id: int) -> Brand | None:
    issuer = await session.get(Issuer, issuer_id)
    if issuer is None:
        return None
    found = await sharing.branding_of(session, issuer_id)
    return Brand(
        slug=issuer.slug,
        name=issuer.name,
        logo=f"/issuers/{issuer.slug}/logo" if found and found.logo else None,
        stylesheet=f"/issuers/{issuer.slug}/brand.css" if found and found.colour else None,
    )


@router.get("/issuers/{slug}/brand.css")
async def brand_stylesheet(slug: str, session: SessionDep) -> Response:
    issuer = await issuer_service.get_issuer(session, slug)
    assert issuer.id is not None
    found = await sharing.branding_of(session, issuer.id)
    colour = found.colour if found and found.colour else None
    css = f":root {{ --brand: {colour}; }}\n" if colour else ""
    return Response(css, media_type="text/css", headers={"cache-control": "public, max-age=300"})
