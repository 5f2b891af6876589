"""Public DID documents of did:web issuers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.api.deps import SessionDep
from app.services import issuers

router = APIRouter(tags=["public"])


@router.get(
    "/issuers/{slug}/did.json",
    responses={
        200: {"content": {"application/did+json": {}}, "description": "The DID document"},
        404: {"description": "No did:web issuer with this slug"},
    },
)
async def did_document(slug: str, session: SessionDep) -> Any:
    """The DID document of ``did:web:<host>:issuers:<slug>`` (Multikey verification methods)."""
    issuer = await issuers.get_issuer(session, slug)
    if issuer.did_method != "web":
        raise issuers.IssuerNotFound(f"issuer {slug!r} is a did:key issuer: it has no did.json")
    document = issuers.did_document(issuer, await issuers.keys_of(session, issuer.id or 0))
    return JSONResponse(
        document,
        media_type="application/did+json",
        headers={"Cache-Control": "public, max-age=300"},
    )
