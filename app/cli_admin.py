"""The administration commands of ``microcred``: issuers and their keys, API keys, courses,
the verifier's trust list and a credential's status.

Each runs one operation in one transaction through the services the HTTP admin API calls
(:mod:`app.services.admin`, models in :mod:`app.schemas`), so both behave the same.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable

from pydantic import TypeAdapter
from sqlmodel.ext.asyncio.session import AsyncSession

from app.cli_db import database_errors
from app.config import (
    Settings,
    get_settings,
)
from app.services import audit


def _run_with_session(work: Callable[[AsyncSession, Settings], Awaitable[object]]) -> object:
    """Run one admin operation in a transaction, as the HTTP admin API would."""
    from app.db.engine import create_engine, session_factory

    settings = get_settings()

    async def run() -> object:
        engine = create_engine(settings.database_url)
        try:
            async with session_factory(engine)() as session, session.begin():
                return await work(session, settings)
        finally:
            await engine.dispose()

    with database_errors():
        return asyncio.run(run())


def _print_json(value: object) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def cmd_issuer_create(args: argparse.Namespace) -> int:
    from app.schemas import IssuerCreateRequest
    from app.services.admin import create_issuer_from

    body = IssuerCreateRequest.model_validate(
        {
            "slug": args.slug,
            "name": dict(_lang_pair(n) for n in args.name),
            "country": args.country,
            "legalIdentifier": args.legal_identifier,
            "homepage": args.homepage,
            "didMethod": args.did_method,
            "suspensionEnabled": args.suspension,
        }
    )

    async def work(session: AsyncSession, settings: Settings) -> object:
        return (await create_issuer_from(session, body, settings)).model_dump(mode="json")

    _print_json(_run_with_session(work))
    return 0


def _lang_pair(text: str) -> tuple[str, str]:
    lang, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"--name takes LANG=TEXT, got {text!r}")
    return lang, value


def cmd_issuer_show(args: argparse.Namespace) -> int:
    from app.services import issuers
    from app.services.admin import issuer_out

    async def work(session: AsyncSession, settings: Settings) -> object:
        found = (
            [await issuers.get_issuer(session, args.slug)]
            if args.slug
            else (await issuers.list_issuers(session))
        )
        return [
            issuer_out(i, await issuers.keys_of(session, i.id or 0)).model_dump(mode="json")
            for i in found
        ]

    _print_json(_run_with_session(work))
    return 0


def cmd_issuer_rotate(args: argparse.Namespace) -> int:
    from app.services import issuers
    from app.services.admin import key_out

    async def work(session: AsyncSession, settings: Settings) -> object:
        issuer = await issuers.get_issuer(session, args.slug)
        key = await issuers.rotate_key(session, issuer, master_key=settings.master_key_bytes)
        return key_out(key).model_dump(mode="json")

    _print_json(_run_with_session(work))
    return 0


def cmd_issuer_revoke_key(args: argparse.Namespace) -> int:
    from app.services import issuers
    from app.services.admin import key_out

    async def work(session: AsyncSession, settings: Settings) -> object:
        issuer = await issuers.get_issuer(session, args.slug)
        return key_out(await issuers.revoke_key(session, issuer, args.key_id)).model_dump(
            mode="json"
        )

    _print_json(_run_with_session(work))
    return 0


def cmd_api_key_create(args: argparse.Namespace) -> int:
    from app.schemas import ApiKeyCreateRequest
    from app.services import apikeys, issuers

    body = ApiKeyCreateRequest.model_validate({"name": args.name, "scopes": args.scope})

    async def work(session: AsyncSession, settings: Settings) -> object:
        issuer = await issuers.get_issuer(session, args.slug)
        row, key = await apikeys.create_api_key(session, issuer, name=body.name, scopes=body.scopes)
        return {"id": row.id, "name": row.name, "scopes": row.scopes, "key": key}

    _print_json(_run_with_session(work))
    return 0


def cmd_api_key_delete(args: argparse.Namespace) -> int:
    from app.services import apikeys, issuers

    async def work(session: AsyncSession, settings: Settings) -> object:
        issuer = await issuers.get_issuer(session, args.slug)
        await apikeys.delete_api_key(session, issuer, args.key_id)
        return {"deleted": args.key_id}

    _print_json(_run_with_session(work))
    return 0


def cmd_credential_status(args: argparse.Namespace) -> int:
    from app.services import issuance, issuers, status

    purpose, value = {
        "revoke": (status.REVOCATION, True),
        "suspend": (status.SUSPENSION, True),
        "unsuspend": (status.SUSPENSION, False),
    }[args.change]

    async def work(session: AsyncSession, settings: Settings) -> object:
        issuer = await issuers.get_issuer(session, args.slug)
        credential = await issuance.find_credential(session, issuer, args.credential_id)
        flags = await status.set_status(
            session, credential, purpose, value, actor=audit.ADMIN, reason=args.reason
        )
        return {"credentialId": args.credential_id, **flags}

    _print_json(_run_with_session(work))
    return 0


def _course_file(path: str) -> object:
    """The JSON course body in ``path`` (``-``: standard input)."""
    from pathlib import Path

    text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON ({exc})") from None


def cmd_course(args: argparse.Namespace) -> int:
    """``course create|list|show|update``: the services ``POST/GET/PUT /courses`` call."""
    from app.credentials.course import CourseIn
    from app.services import courses, issuers

    body = CourseIn.model_validate(_course_file(args.file)) if "file" in args else None

    async def work(session: AsyncSession, settings: Settings) -> object:
        issuer = await issuers.get_issuer(session, args.slug)
        base = settings.public_url
        if args.action == "create":
            state = await courses.create_course(session, issuer, body, actor=audit.ADMIN)
        elif args.action == "update":
            state = await courses.update_course(
                session, issuer, args.course_id, body, actor=audit.ADMIN
            )
        elif args.action == "show":
            state = await courses.get_course(session, issuer, args.course_id, args.version)
        else:
            listed = await courses.list_courses(session, issuer)
            return [courses.describe(s, issuer, base) for s in listed]
        return courses.describe(state, issuer, base)

    _print_json(_run_with_session(work))
    return 0


def cmd_trust_put(args: argparse.Namespace) -> int:
    from app.schemas import Did, TrustEntryRequest
    from app.services.admin import put_trusted_from

    did = TypeAdapter(Did).validate_python(args.did)
    try:
        accreditation = json.loads(args.accreditation) if args.accreditation else None
    except ValueError:
        print("microcred: --accreditation is not JSON", file=sys.stderr)
        return 2
    body = TrustEntryRequest.model_validate(
        {
            "legalName": args.legal_name,
            "country": args.country,
            "legalIdentifier": args.legal_identifier,
            "accreditation": accreditation,
            "note": args.note,
        }
    )

    async def work(session: AsyncSession, settings: Settings) -> object:
        return (await put_trusted_from(session, did, body)).model_dump(mode="json")

    _print_json(_run_with_session(work))
    return 0


def cmd_trust_remove(args: argparse.Namespace) -> int:
    from app.services import trust

    async def work(session: AsyncSession, settings: Settings) -> object:
        await trust.remove_entry(session, args.did)
        return None

    _run_with_session(work)
    return 0


def cmd_trust_list(args: argparse.Namespace) -> int:
    from app.services import trust
    from app.services.admin import trust_entry_out

    async def work(session: AsyncSession, settings: Settings) -> object:
        entries = await trust.list_entries(session)
        return [trust_entry_out(e).model_dump(mode="json") for e in entries]

    _print_json(_run_with_session(work))
    return 0
