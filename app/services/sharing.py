"""What people see of a credential beyond the API: its PDF, learners' share links, the issuers'
branding (logo, colour) and the switch of its public page.

A share link is ``{public_url}/s/{token}``: the token is 32 random bytes, and only its SHA-256
is stored, so the table cannot be turned back into links. A share ends at its expiry or when the
issuer ends it; an ended or expired share answers 410, an unknown token 404.

A credential's public page (``/v/{uuid}``) is on unless its issuer switched off public pages for
all its credentials (``PUT /admin/issuers/{slug}/branding``, ``publicPages``) or for this one
(``PUT /credentials/{id}/public-page``); a share link works either way.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import jsontext
from app.credentials import pdf, pdf_content
from app.credentials.logos import PNG, SVG, CheckedLogo
from app.db.models import (
    Credential,
    CredentialPage,
    CredentialShare,
    Issuer,
    IssuerBranding,
    utcnow,
)
from app.problems import SHARE_ENDED, SHARE_NOT_FOUND, NotFound, Problem
from app.services import audit

MAX_SHARE_DAYS = 365
DEFAULT_SHARE_DAYS = 30


class ShareNotFound(NotFound):
    type = SHARE_NOT_FOUND
    title = "Share link not found"


class ShareGone(Problem):
    type = SHARE_ENDED
    title, status = "This share link has ended or expired", 410


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------------------------
# Branding and public pages


async def branding_of(session: AsyncSession, issuer_id: int) -> IssuerBranding | None:
    return await session.get(IssuerBranding, issuer_id)


async def put_branding(
    session: AsyncSession,
    issuer: Issuer,
    *,
    colour: str | None,
    logo: CheckedLogo | None,
    remove_logo: bool,
    public_pages: bool | None,
    actor: str,
) -> IssuerBranding:
    """Set what is given (colour, logo, the public pages switch); the rest stays."""
    assert issuer.id is not None
    branding = await branding_of(session, issuer.id)
    if branding is None:
        branding = IssuerBranding(issuer_id=issuer.id, updated_at=utcnow())
        session.add(branding)
    if colour is not None:
        branding.colour = colour.lower()
    if logo is not None:
        branding.logo, branding.logo_type = logo.data, logo.media_type
    elif remove_logo:
        branding.logo, branding.logo_type = None, None
    if public_pages is not None:
        branding.public_pages = public_pages
    branding.updated_at = utcnow()
    await audit.record(
        session,
        actor=actor,
        action="issuer.branding",
        issuer_id=issuer.id,
        target=issuer.slug,
        details={
            "colour": branding.colour,
            "logo": branding.logo_type,
            "publicPages": branding.public_pages,
        },
    )
    await session.flush()
    return branding


def logo_of(branding: IssuerBranding | None) -> pdf_content.Logo | None:
    if branding is None or branding.logo is None or branding.logo_type not in (PNG, SVG):
        return None
    return pdf_content.Logo("png" if branding.logo_type == PNG else "svg", branding.logo)


async def set_public_page(
    session: AsyncSession, credential: Credential, enabled: bool, *, actor: str
) -> None:
    page = await session.get(CredentialPage, credential.id)
    if page is None:
        session.add(
            CredentialPage(credential_id=credential.id, enabled=enabled, updated_at=utcnow())
        )
    else:
        page.enabled, page.updated_at = enabled, utcnow()
    await audit.record(
        session,
        actor=actor,
        action="credential.public_page",
        issuer_id=credential.issuer_id,
        target=credential.id,
        details={"enabled": enabled},
    )
    await session.flush()


async def public_page_enabled(session: AsyncSession, credential: Credential) -> bool:
    """Whether ``/v/{uuid}`` shows ``credential``: its own switch, else its issuer's."""
    page = await session.get(CredentialPage, credential.id)
    if page is not None:
        return page.enabled
    branding = await branding_of(session, credential.issuer_id)
    return branding is None or branding.public_pages


# ---------------------------------------------------------------------------------------------
# Share links


@dataclass(frozen=True)
class NewShare:
    share: CredentialShare
    token: str


async def create_share(
    session: AsyncSession,
    credential: Credential,
    *,
    days: int,
    actor: str,
    now: datetime | None = None,
) -> NewShare:
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    share = CredentialShare(
        id=str(uuid.uuid4()),
        credential_id=credential.id,
        issuer_id=credential.issuer_id,
        token_hash=token_hash(token),
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    session.add(share)
    await audit.record(
        session,
        actor=actor,
        action="credential.share_created",
        issuer_id=credential.issuer_id,
        target=credential.id,
        details={"share": share.id, "expiresAt": share.expires_at.isoformat()},
    )
    await session.flush()
    return NewShare(share, token)


async def end_share(
    session: AsyncSession, credential: Credential, share_id: str, *, actor: str
) -> None:
    share = await session.get(CredentialShare, share_id)
    if share is None or share.credential_id != credential.id:
        raise ShareNotFound(f"no share {share_id!r} of this credential")
    if share.ended_at is None:
        share.ended_at = utcnow()
        await audit.record(
            session,
            actor=actor,
            action="credential.share_ended",
            issuer_id=credential.issuer_id,
            target=credential.id,
            details={"share": share.id},
        )
        await session.flush()


async def shared_credential(
    session: AsyncSession, token: str, now: datetime | None = None
) -> tuple[CredentialShare, Credential]:
    """The live share of ``token`` and its credential; 404 unknown, 410 ended or expired."""
    now = now or utcnow()
    if not 16 <= len(token) <= 128:
        raise ShareNotFound("no such share link")
    query = select(CredentialShare).where(CredentialShare.token_hash == token_hash(token))
    share = (await session.exec(query)).first()
    if share is None:
        raise ShareNotFound("no such share link")
    if share.ended_at is not None or share.expires_at <= now:
        raise ShareGone("this share link has ended or expired")
    credential = await session.get(Credential, share.credential_id)
    if credential is None:
        raise ShareNotFound("no such share link")
    return share, credential


# ---------------------------------------------------------------------------------------------
# The PDF


async def credential_pdf(
    session: AsyncSession,
    credential: Credential,
    *,
    language: str,
    public_url: str,
) -> bytes:
    """The PDF of ``credential`` in ``language``, in its issuer's colour and logo, linking to
    its public page when that is on. Drawn in a worker thread: embedding and subsetting the
    fonts takes some half a second of CPU."""
    branding = await branding_of(session, credential.issuer_id)
    link = None
    uri = credential.credential_uri or ""
    if uri.startswith("urn:uuid:") and await public_page_enabled(session, credential):
        link = f"{public_url}/v/{uri.removeprefix('urn:uuid:')}"
    content = pdf_content.content_from_document(
        credential.document,
        language,
        link=link,
        colour=branding.colour if branding else None,
        logo=logo_of(branding),
    )
    return await asyncio.to_thread(
        pdf.render_pdf, content, jsontext.dumps_bytes(credential.document)
    )


def pdf_language(credential: Credential, wanted: str | None) -> str:
    """``wanted`` if the certificate has captions for it, else the credential's first title
    language, else English."""
    from app.credentials.render import EU_LANGUAGES

    if wanted and wanted.lower() in EU_LANGUAGES:
        return wanted.lower()
    subject = credential.document.get("credentialSubject")
    subject = subject[0] if isinstance(subject, list) and subject else subject
    claim = subject.get("hasClaim") if isinstance(subject, dict) else None
    claim = claim[0] if isinstance(claim, list) and claim else claim
    title = claim.get("title") if isinstance(claim, dict) else None
    if isinstance(title, dict):
        for code in title:
            if isinstance(code, str) and code in EU_LANGUAGES:
                return str(code)
    return "en"
