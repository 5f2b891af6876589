"""The parts of a stacked credential, checked when the stack is verified (``results.parts``).

The parts are read from the stack as its proof covers it (:func:`app.credentials.stack.
read_parts`, after the one-reading check): each part's credential id and digest. A part this
service holds under that id is found by its digest (the copy whose RFC 8785 JSON hashes to it)
and verified in full, its own parts too, down to :data:`MAX_DEPTH` levels and at most
:data:`MAX_PARTS_CHECKED` parts looked up per verification (and reported per stack); its live
status is the one it has now. A part held under that id with another digest is reported as not
the part the stack was issued for; a part this service does not hold is reported unreachable
(not verified): a warning.

A part that does not verify (revoked, suspended, expired, its digest differs) is reported on
its entry and as a warning of the stack, not as an error: the stack's own proof, status and
validity decide ``verified``. A stack was awarded for parts that verified when it was issued
(:mod:`app.services.stacks`); whether a part revoked later takes the stack with it is its
issuer's decision, which it makes by revoking the stack. The verifier reports the facts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.credentials.stack import PartRef, digest_sri
from app.credentials.vcapi import issuer_id
from app.crypto.jcs import JcsError
from app.db.models import Credential
from app.problems import STACK_PART_NOT_VERIFIED, STACK_PART_UNREACHABLE
from app.services.verification.results import (
    PartResult,
    Verification,
    problem,
    problem_list,
)

#: Parts nested deeper than this (a stack of stacks of stacks…) are not checked.
MAX_DEPTH = 3
#: Parts looked up at most per verification, all levels together; and reported per stack.
MAX_PARTS_CHECKED = 40
#: Copies held under one credential id looked at (VC-API callers choose ids).
MAX_HELD_COPIES = 5


@dataclass
class PartsBudget:
    """How many more parts one verification may check."""

    left: int = MAX_PARTS_CHECKED


class HeldParts:
    """The credentials this service holds, by VC id, read in short sessions of their own."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def documents(self, credential_id: str) -> list[Mapping[str, Any]]:
        query = (
            select(Credential.document, Credential.format)
            .where(col(Credential.credential_uri) == credential_id)
            .limit(MAX_HELD_COPIES)
        )
        async with self._sessionmaker() as session:
            rows = (await session.exec(query)).all()
        return [document for document, format in rows if format != "sd-jwt"]


def _matching(documents: Sequence[Mapping[str, Any]], digest: str) -> Mapping[str, Any] | None:
    for document in documents:
        try:
            if digest_sri(document) == digest:
                return document
        except JcsError:
            continue
    return None


def _why(report: Verification) -> str:
    status = report.results.get("credentialStatus") or {}
    if isinstance(status, Mapping) and status.get("revoked"):
        return "is revoked"
    if isinstance(status, Mapping) and status.get("suspended"):
        return "is suspended"
    return "does not verify: " + "; ".join(e.detail or e.title for e in report.errors[:3])


async def check_parts(
    refs: Sequence[PartRef],
    report: Verification,
    held: HeldParts,
    verify: Callable[[Mapping[str, Any]], Awaitable[Verification]],
    budget: PartsBudget,
    depth: int,
) -> list[PartResult]:
    """Each part's entry of ``results.parts``; warnings of the stack go to ``report``."""
    entries: list[PartResult] = []
    if len(refs) > MAX_PARTS_CHECKED:
        report.warnings.append(
            problem(
                STACK_PART_UNREACHABLE,
                f"{len(refs)} parts: only the first {MAX_PARTS_CHECKED} are reported",
                None,
            )
        )
    for index, ref in enumerate(refs[:MAX_PARTS_CHECKED]):
        entry: PartResult = {
            "id": ref.credential_id,
            "issuer": None,
            "reachable": False,
            "digestMatches": None,
            "verified": None,
            "revoked": None,
            "suspended": None,
            "checks": [],
            "errors": [],
            "warnings": [],
            "parts": [],
        }
        entries.append(entry)
        name = f"part {index} ({ref.credential_id})"
        if ref.credential_id is None or ref.digest is None:
            report.warnings.append(
                problem(
                    STACK_PART_NOT_VERIFIED,
                    f"part {index} names no credential id or no digest",
                    ref.pointer,
                )
            )
            continue
        if depth >= MAX_DEPTH or budget.left <= 0:
            report.warnings.append(
                problem(
                    STACK_PART_UNREACHABLE,
                    f"{name} not checked: parts are checked {MAX_DEPTH} levels deep and "
                    f"{MAX_PARTS_CHECKED} per verification",
                    ref.pointer,
                )
            )
            continue
        budget.left -= 1  # a lookup, and a verification when the part is held
        documents = await held.documents(ref.credential_id)
        if not documents:
            report.warnings.append(
                problem(
                    STACK_PART_UNREACHABLE,
                    f"{name} is not held by this service: its status and digest are not checked",
                    ref.pointer,
                )
            )
            continue
        entry["reachable"] = True
        document = _matching(documents, ref.digest)
        if document is None:
            entry["digestMatches"] = False
            entry["issuer"] = issuer_id(documents[0])
            entry["verified"] = False
            report.warnings.append(
                problem(
                    STACK_PART_NOT_VERIFIED,
                    f"{name}: the credential held under that id is not the one the stack was "
                    "issued for (its digest differs)",
                    ref.pointer,
                )
            )
            continue
        checked = await verify(document)
        status = checked.results.get("credentialStatus") or {}
        entry["digestMatches"] = True
        entry["issuer"] = issuer_id(document)
        entry["verified"] = checked.verified
        entry["revoked"] = bool(isinstance(status, Mapping) and status.get("revoked"))
        entry["suspended"] = bool(isinstance(status, Mapping) and status.get("suspended"))
        entry["checks"] = checked.checks
        entry["errors"] = problem_list(checked.errors)
        entry["warnings"] = problem_list(checked.warnings)
        entry["parts"] = list(checked.results.get("parts") or [])
        if not checked.verified:
            report.warnings.append(
                problem(STACK_PART_NOT_VERIFIED, f"{name} {_why(checked)}", ref.pointer)
            )
    return entries
