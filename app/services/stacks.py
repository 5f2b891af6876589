"""Issuing a stacked credential: fetch each part, verify it, check it is the learner's.

Each part of ``stack.parts`` is a credential id (one this service holds, of any issuer here) or a
whole credential. Every part is verified with the service's own verifier (form, proof, issuer,
validity, status) and must belong to the new credential's learner
(:func:`app.credentials.stack.same_learner`). A part given whole whose id this service holds
must be that credential byte for byte in JCS form (else its digest would not be found again).
Every bad part is reported at once, in one 422 whose ``errors`` name ``/stack/parts/<i>``.

A course may declare itself a stack of other courses (``stackOf``): the ids must name courses
held here (:func:`check_stack_of`), and a learner's credential from it is then awarded for the
learner's latest credential of each (:func:`course_stack`), unless the request names the parts.

The workload rule: a unit (ECTS, hours) the request leaves out of ``workload`` is the sum of
the parts' when every part states it; a unit given must be at least the sum of the parts that
state it (a stack is worth no less than its parts).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.credentials.fieldtypes import MAX_ECTS, MAX_HOURS
from app.credentials.microcredential import (
    MicroCredentialIn,
    StackIn,
    Workload,
    format_decimal,
)
from app.credentials.stack import (
    StackPart,
    digest_sri,
    facts_of,
    same_learner,
    workload_of,
)
from app.crypto.jcs import JcsError
from app.db.models import Course, Credential
from app.problems import STACK_PART_REFUSED, ValidationFailed
from app.services.issuance import SearchFields
from app.services.verification import NotACredential, Verifier
from app.services.verification.results import Verification


class StackPartRefused(ValidationFailed):
    type = STACK_PART_REFUSED
    title = "A part of the stack cannot be stacked"


@dataclass(frozen=True)
class _Fault:
    index: int
    detail: str


async def held_credentials(session: AsyncSession, credential_id: str) -> list[Credential]:
    """The credentials this service holds under ``credential_id``: our id or the VC ``id``."""
    query = select(Credential).where(
        or_(col(Credential.id) == credential_id, col(Credential.credential_uri) == credential_id)
    )
    return list((await session.exec(query)).all())


def _why_not_verified(report: Verification) -> str:
    results = report.results
    status = results.get("credentialStatus") or {}
    if isinstance(status, Mapping) and status.get("revoked"):
        return "it is revoked"
    if isinstance(status, Mapping) and status.get("suspended"):
        return "it is suspended"
    details = "; ".join((error.detail or error.title) for error in report.errors[:3])
    return f"it does not verify: {details}"


async def _document(
    session: AsyncSession, index: int, part: str | Mapping[str, Any]
) -> Mapping[str, Any] | _Fault:
    if isinstance(part, str):
        held = await held_credentials(session, part)
        if not held:
            return _Fault(index, f"unknown id: this service holds no credential {part!r}")
        if len(held) > 1:
            return _Fault(index, f"several credentials are held as {part!r}: give it whole")
        if held[0].format == "sd-jwt":
            return _Fault(index, "an SD-JWT VC cannot be a part of a stack")
        return held[0].document
    credential_id = part.get("id")
    if isinstance(credential_id, str):
        try:
            given = digest_sri(part)
        except JcsError as exc:
            return _Fault(index, str(exc))
        for row in await held_credentials(session, credential_id):
            if row.credential_uri == credential_id and digest_sri(row.document) != given:
                return _Fault(
                    index,
                    "it differs from the credential this service holds under its id (a tampered "
                    "copy?): name it by id",
                )
    return part


async def resolve_and_commit(
    session: AsyncSession,
    verifier: Verifier,
    mc: MicroCredentialIn,
    *,
    now: datetime,
) -> tuple[list[StackPart], MicroCredentialIn]:
    """The verified parts of ``mc.stack`` and ``mc`` with its workload completed; a
    :class:`StackPartRefused` (422) naming every bad part otherwise.

    A named exception to the rule that only the request's session commits
    (:mod:`app.db.session`): the parts held here are read in ``session``, whose transaction
    (reads only, so far) then ends before the parts are verified, since the verifier reads in
    sessions of its own (on SQLite the pool's one connection) and may wait for remote status
    lists and DID documents, which no transaction should span."""
    if mc.stack is None:
        return [], mc
    documents = [
        await _document(session, index, given) for index, given in enumerate(mc.stack.parts)
    ]
    await session.commit()
    faults: list[_Fault] = []
    parts: list[StackPart] = []
    seen: dict[str, int] = {}
    for index, document in enumerate(documents):
        if isinstance(document, _Fault):
            faults.append(document)
            continue
        try:
            report = await verifier.verify_credential(document, now=now)
        except NotACredential as exc:
            faults.append(_Fault(index, f"not a credential: {exc.detail or exc.title}"))
            continue
        if not report.verified:
            faults.append(_Fault(index, _why_not_verified(report)))
            continue
        facts = facts_of(document)
        if facts.credential_id is None:
            faults.append(_Fault(index, "the credential has no id to record it by"))
            continue
        if facts.credential_id in seen:
            faults.append(_Fault(index, f"the same credential as part {seen[facts.credential_id]}"))
            continue
        why = same_learner(mc.learner, facts.learner)
        if why is not None:
            faults.append(_Fault(index, why))
            continue
        try:
            digest = digest_sri(document)
        except JcsError as exc:
            faults.append(_Fault(index, str(exc)))
            continue
        seen[facts.credential_id] = index
        parts.append(StackPart(facts.credential_id, digest, facts))
    if faults:
        raise StackPartRefused(
            f"{len(faults)} part(s) of the stack cannot be stacked",
            errors=[
                {"pointer": f"/stack/parts/{fault.index}", "detail": fault.detail}
                for fault in faults
            ],
        )
    return parts, with_workload(mc, parts)


def with_workload(mc: MicroCredentialIn, parts: Sequence[StackPart]) -> MicroCredentialIn:
    """``mc`` with the units its workload leaves out summed from the parts (module docstring)."""
    ects, hours = workload_of(parts)
    stated_ects = sum(
        (part.facts.ects for part in parts if part.facts.ects is not None), Decimal(0)
    )
    stated_hours = sum(
        (part.facts.hours for part in parts if part.facts.hours is not None), Decimal(0)
    )
    errors = []
    given = mc.workload
    if given.ects is not None and given.ects < stated_ects:
        errors.append(
            {
                "pointer": "/workload/ects",
                "detail": f"less than the {format_decimal(stated_ects)} ECTS credits of the "
                "stack's parts",
            }
        )
    if given.hours is not None and given.hours < stated_hours:
        errors.append(
            {
                "pointer": "/workload/hours",
                "detail": f"less than the {format_decimal(stated_hours)} hours of the stack's "
                "parts",
            }
        )
    if errors:
        raise ValidationFailed("the workload is less than its parts'", errors=errors)
    new_ects = given.ects if given.ects is not None else ects
    new_hours = given.hours if given.hours is not None else hours
    if new_ects is not None and new_ects > MAX_ECTS:
        new_ects = given.ects
    if new_hours is not None and new_hours > MAX_HOURS:
        new_hours = given.hours
    if (new_ects, new_hours) == (given.ects, given.hours):
        return mc
    workload = Workload.model_construct(ects=new_ects, hours=new_hours)
    return mc.model_copy(update={"workload": workload})


async def check_stack_of(
    session: AsyncSession, course_ids: Sequence[str] | None, own_id: str | None = None
) -> None:
    """Refuse (422, ``/stackOf/<i>``) a ``stackOf`` naming no course held here, or itself."""
    errors = []
    for index, course_id in enumerate(course_ids or ()):
        if course_id == own_id:
            errors.append(
                {"pointer": f"/stackOf/{index}", "detail": "a course cannot stack itself"}
            )
        elif await session.get(Course, course_id) is None:
            errors.append(
                {"pointer": f"/stackOf/{index}", "detail": f"no course {course_id!r} is held here"}
            )
    if errors:
        raise ValidationFailed("stackOf names courses that cannot be stacked", errors=errors)


async def course_stack(
    session: AsyncSession, mc: MicroCredentialIn, course_ids: Sequence[str]
) -> MicroCredentialIn:
    """``mc`` with ``stack`` naming the learner's latest credential of each course of
    ``course_ids`` (found by the learner's identifier value, else e-mail, else DID, as
    ``GET /credentials?learner=`` finds it); a 422 at ``/stack`` for a course without one."""
    key = SearchFields.of_learner(mc.learner).learner_key
    parts: list[str | dict[str, Any]] = []
    errors = []
    for course_id in course_ids:
        query = (
            select(Credential.id)
            .where(
                col(Credential.course_id) == course_id,
                col(Credential.learner_key) == key,
                col(Credential.format) != "sd-jwt",
            )
            .order_by(col(Credential.created_at).desc())
            .limit(1)
        )
        found = (await session.exec(query)).first()
        if found is None:
            errors.append(
                {
                    "pointer": "/stack",
                    "detail": f"the learner has no credential of course {course_id}, which this "
                    "course is a stack of",
                }
            )
        else:
            parts.append(found)
    if errors:
        raise StackPartRefused("the learner lacks a part of this stack", errors=errors)
    return mc.model_copy(update={"stack": StackIn(parts=parts)})
