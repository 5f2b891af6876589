"""Revoking, suspending or reinstating many credentials at once, with the issuer's reason.

A list of ids (at most :data:`MAX_IDS`) is changed in chunks of :data:`CHUNK`, each chunk one
transaction (:func:`change_and_commit`, one of the named places that commit on their own, see
``app/db/session.py``): a change of thousands never holds the status lists' rows for long, and
what was committed stays if the request is cut short; repeating the request changes nothing
twice. As in :func:`app.services.status.set_status`, a bit changes with a conditional
``UPDATE … WHERE is_set = <old value>``, so of two processes changing the same credential one
counts it as changed and the other as unchanged; the lists' versions are bumped in a fixed
order (no deadlock between two chunks).

A filter matching more credentials than :data:`MAX_IDS` runs as a job (kind ``status.bulk``,
one row per credential) and answers with the job.

The reason is kept with the status entry (``status_entries.reason``) and in the audit trail.
It is not in the signed status list: a Bitstring Status List entry of purpose ``revocation`` or
``suspension`` is one bit, and ``statusMessage`` exists only for the ``message`` purpose with
a fixed message per value; a free-text reason per credential has no place a verifier could
check. See README.md, "Status reasons".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, insert, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.models import AuditEvent, Credential, Issuer, StatusEntry, StatusList, utcnow
from app.observability import STATUS_CHANGES
from app.services import audit, jobs
from app.services.status import REVOCATION, SUSPENSION, TOKEN, RevocationIsFinal

MAX_IDS = 1_000
#: Credentials changed per transaction.
CHUNK = 100
#: Credentials a filter may reach through a job.
MAX_JOB_ROWS = 100_000
JOB_KIND = "status.bulk"

ACTIONS = {
    (REVOCATION, True): "credential.revoked",
    (SUSPENSION, True): "credential.suspended",
    (SUSPENSION, False): "credential.unsuspended",
}


@dataclass
class Outcome:
    """The ids as the caller gave them: changed, already so, unknown to this issuer, and those
    without an entry for the purpose (suspension not enabled when they were issued)."""

    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    not_applicable: list[str] = field(default_factory=list)

    def add(self, other: Outcome) -> None:
        self.changed += other.changed
        self.unchanged += other.unchanged
        self.not_found += other.not_found
        self.not_applicable += other.not_applicable


def check_change(purpose: str, value: bool) -> None:
    if purpose == REVOCATION and not value:
        raise RevocationIsFinal("revocation is final: a revoked credential cannot be reinstated")


async def change_chunk(
    session: AsyncSession,
    issuer: Issuer,
    given_ids: Sequence[str],
    purpose: str,
    value: bool,
    *,
    actor: str,
    reason: str | None,
) -> Outcome:
    """Change up to :data:`CHUNK` credentials in the caller's transaction (no commit)."""
    check_change(purpose, value)
    outcome = Outcome()
    given = list(dict.fromkeys(given_ids))
    if not given:
        return outcome
    # Our id, the VC's id or the caller's credentialId, as find_credential reads them.
    found = (
        await session.exec(
            select(Credential.id, Credential.credential_uri, Credential.client_id).where(
                Credential.issuer_id == issuer.id,
                or_(
                    col(Credential.id).in_(given),
                    col(Credential.credential_uri).in_(given),
                    col(Credential.client_id).in_(given),
                ),
            )
        )
    ).all()
    ours: dict[str, str] = {}
    wanted = set(given)
    for credential_id, uri, client_id in found:
        for name in (credential_id, uri, client_id):
            if name is not None and name in wanted:
                ours.setdefault(name, credential_id)
    # Bitstring lists hold one purpose a list; a 2-bit token list (SD-JWT VC) holds revocation
    # in ``is_set`` and suspension in ``suspended`` (as set_status reads them).
    carries_purpose: ColumnElement[bool] = col(StatusList.purpose) == purpose
    if purpose == SUSPENSION:
        carries_purpose = or_(
            carries_purpose, (col(StatusList.kind) == TOKEN) & (col(StatusList.bits) == 2)
        )
    entries = (
        await session.exec(
            select(StatusEntry.credential_id, StatusEntry.list_id, StatusList.kind)
            .join(StatusList, col(StatusList.id) == col(StatusEntry.list_id))
            .where(col(StatusEntry.credential_id).in_(set(ours.values())), carries_purpose)
        )
    ).all()
    with_entry = {credential_id for credential_id, _, _ in entries}
    changed_rows: list[tuple[str, str]] = []
    for kind in sorted({kind for _, _, kind in entries}):
        flag = (
            StatusEntry.suspended if kind == TOKEN and purpose == SUSPENSION else StatusEntry.is_set
        )
        of_kind = [(c, list_id) for c, list_id, k in entries if k == kind]
        changed = await session.exec(
            update(StatusEntry)
            .where(
                col(StatusEntry.credential_id).in_({c for c, _ in of_kind}),
                col(StatusEntry.list_id).in_({list_id for _, list_id in of_kind}),
                col(flag) == (not value),
            )
            .values({flag: value, StatusEntry.reason: reason, StatusEntry.updated_at: utcnow()})
            .returning(col(StatusEntry.credential_id), col(StatusEntry.list_id))
        )
        changed_rows += [(c, list_id) for c, list_id in changed.all()]
    changed_ids = {credential_id for credential_id, _ in changed_rows}
    for list_id in sorted({list_id for _, list_id in changed_rows}):
        await session.exec(
            update(StatusList)
            .where(col(StatusList.id) == list_id)
            .values(version=col(StatusList.version) + 1)
        )
    action = ACTIONS[(purpose, value)]
    events = [
        audit.event_values(
            actor,
            action,
            issuer.id,
            credential_id,
            {"reason": reason, "bulk": True} if reason else {"bulk": True},
        )
        for credential_id in sorted(changed_ids)
    ]
    if events:
        await session.exec(insert(AuditEvent.__table__), params=events)  # type: ignore[attr-defined]
    if changed_ids:
        STATUS_CHANGES.labels(action).inc(len(changed_ids))
    for name in given:
        target = ours.get(name)
        if target is None:
            outcome.not_found.append(name)
        elif target not in with_entry:
            outcome.not_applicable.append(name)
        elif target in changed_ids:
            outcome.changed.append(name)
            changed_ids.discard(target)  # the same credential named twice counts once
        else:
            outcome.unchanged.append(name)
    return outcome


async def change_and_commit(
    session: AsyncSession,
    issuer: Issuer,
    given_ids: Sequence[str],
    purpose: str,
    value: bool,
    *,
    actor: str,
    reason: str | None,
) -> Outcome:
    """Change the credentials, committing after each chunk of :data:`CHUNK`."""
    check_change(purpose, value)
    outcome = Outcome()
    given = list(dict.fromkeys(given_ids))
    for start in range(0, len(given), CHUNK):
        chunk = given[start : start + CHUNK]
        outcome.add(
            await change_chunk(session, issuer, chunk, purpose, value, actor=actor, reason=reason)
        )
        await session.commit()
    return outcome


async def queue_job(
    session: AsyncSession,
    issuer: Issuer,
    credential_ids: Sequence[str],
    purpose: str,
    value: bool,
    *,
    actor: str,
    reason: str | None,
) -> Any:
    """A ``status.bulk`` job with one row per credential (in the caller's transaction)."""
    check_change(purpose, value)
    rows = (
        jobs.NewRow(number, {"credentialId": credential_id})
        for number, credential_id in enumerate(credential_ids, start=1)
    )
    params = {"purpose": purpose, "value": value, "actor": actor, "reason": reason}
    return await jobs.create(session, issuer, JOB_KIND, rows, params=params)


async def _process_row(context: jobs.RowContext) -> dict[str, Any]:
    params = context.job.params
    outcome = await change_chunk(
        context.session,
        context.issuer,
        [context.input["credentialId"]],
        params["purpose"],
        params["value"],
        actor=params["actor"],
        reason=params["reason"],
    )
    if outcome.not_applicable:
        raise jobs.RowFailed(
            [{"column": "credentialId", "message": f"it has no {params['purpose']} entry"}]
        )
    if outcome.not_found:
        raise jobs.RowFailed([{"column": "credentialId", "message": "no such credential"}])
    return {"changed": "yes" if outcome.changed else "no (already so)"}


jobs.register(
    jobs.JobKind(
        JOB_KIND, _process_row, result_columns=("changed",), echo_columns=("credentialId",)
    )
)
