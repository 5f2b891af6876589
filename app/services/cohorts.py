"""Cohorts: a course's learners issued from a spreadsheet, as a background job.

:data:`COLUMNS` is the cohort spreadsheet (one learner a row: identifier, names, e-mail, date of
birth, award date, grade, expiry, supervision), the source of the template and of the reader.
:func:`create_cohort` checks every row before anything is signed (the file, then each row as
:class:`~app.credentials.course.LearnerFactsIn`, then repeated rows) and queues a
``course.cohort`` job whose rows with errors are failed from the start; the course version is
frozen then and the job keeps its number, so an edit meanwhile makes the next version and the
cohort still issues from the one it was uploaded for.

A row is issued inside the job's row transaction (:func:`app.services.issuance.issue_within`),
under an idempotency key made of the course, its version, the format and the row's normalised
values (:func:`row_key`), not of the job: uploading the same file again replays the same
credentials. With ``offers`` a row makes an OpenID4VCI offer instead, with a PIN; its id and
PIN are derived from the same key (:func:`app.services.oid4vci.derived_offer`), so a second
upload finds the first offer.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass
from functools import partial
from typing import Any

from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from app.credentials.course import LearnerFactsIn, merge
from app.db import store
from app.db.models import CredentialOffer, Issuer, Job, utcnow
from app.problems import SPREADSHEET_UNREADABLE, Problem, ValidationFailed
from app.services import courses, issuance, jobs, oid4vci, spreadsheets
from app.services.spreadsheets import Column, Columns

JOB_KIND = "course.cohort"
FORMATS = ("edc", "obv3")

#: column -> where its value goes in the learner facts (a path in ``LearnerFactsIn``)
_PATHS: dict[str, tuple[str, ...]] = {
    "identifier scheme": ("learner", "identifier", "scheme"),
    "identifier value": ("learner", "identifier", "value"),
    "given name": ("learner", "givenName"),
    "family name": ("learner", "familyName"),
    "email": ("learner", "email"),
    "date of birth": ("learner", "dateOfBirth"),
    "awarded on": ("awardedOn",),
    "grade": ("grade",),
    "valid until": ("validUntil",),
    "supervision": ("supervision",),
}

COLUMNS = Columns(
    (
        Column(
            "identifier scheme",
            "What kind of identifier the next column is, in your words (student-number, "
            "national-id); needed when an identifier value is given.",
            example="student-number",
            max_length=100,
        ),
        Column(
            "identifier value",
            "The learner's identifier in your records. A row needs an identifier or an e-mail.",
            example="S1234567",
            max_length=200,
        ),
        Column("given name", "The learner's given name(s), as on the certificate.", example="Ana"),
        Column(
            "family name", "The learner's family name(s), as on the certificate.", example="Silva"
        ),
        Column("email", "The learner's e-mail address.", example="ana.silva@example.org"),
        Column(
            "date of birth",
            "YYYY-MM-DD; tells apart learners who share a name.",
            example="2001-04-30",
        ),
        Column(
            "awarded on",
            "The day the learner earned the credential, YYYY-MM-DD.",
            required=True,
            example="2026-06-30",
        ),
        Column(
            "grade", "The grade as your grading scheme writes it (Pass, A, 72%).", example="Pass"
        ),
        Column(
            "valid until",
            "When the credential expires, YYYY-MM-DD or a date and time with its zone; leave it "
            "empty when it does not expire. After the award date.",
            example="2031-06-30",
        ),
        Column(
            "supervision",
            "How the assessment was supervised, when it differs from the course's "
            "(a supervision-verification concept: supervised-with-id-verification, …).",
            example="supervised-with-id-verification",
        ),
    ),
    sheet="cohort",
)
#: What the results file repeats of each row, to recognise it.
ECHO = ("identifier value", "given name", "family name", "email")
RESULTS = ("credentialId", "offerLink", "pin", "offerExpiresAt")
_NAMES = {path[-1]: column for column, path in _PATHS.items()}
_NAMES.update({"learner": "identifier value", "identifier": "identifier value"})
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class SpreadsheetUnreadable(ValidationFailed):
    type = SPREADSHEET_UNREADABLE
    title = "The spreadsheet cannot be read"


@dataclass(frozen=True)
class Cohort:
    job: Job
    course: courses.CourseState


def facts_of(values: dict[str, str], format: str) -> dict[str, Any]:
    """A row's values as the body of ``POST /courses/{id}/credentials`` (empty cells left out;
    a date alone in ``valid until`` is that day's start in UTC)."""
    body: dict[str, Any] = {"format": format}
    for column, path in _PATHS.items():
        value = values.get(column, "").strip()
        if not value:
            continue
        if column == "valid until" and _DATE_ONLY.match(value):
            value += "T00:00:00Z"
        target = body
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = value
    body.setdefault("learner", {})
    return body


def _words(message: str) -> str:
    """A validation message in the spreadsheet's words (its column names, no pydantic prefix)."""
    message = message.removeprefix("Value error, ")
    for name in ("givenName", "familyName", "dateOfBirth", "awardedOn", "validUntil"):
        message = re.sub(rf"\b{name}\b", _NAMES[name], message)
    return message.replace("id, identifier, email", "identifier value, email")


def row_errors(exc: ValidationError) -> list[dict[str, str]]:
    """``{column, message}`` for each fault pydantic found in a row."""
    found: list[dict[str, str]] = []
    for error in exc.errors():
        loc = [str(part) for part in error["loc"]]
        column = next((_NAMES[part] for part in reversed(loc) if part in _NAMES), "")
        message = _words(error["msg"])
        if error["type"].startswith(("date", "datetime")):
            message = "not a date: write it as YYYY-MM-DD"
        if error["type"] == "missing":
            message = "a value is required with the other identifier column"
        found.append({"column": column, "message": message})
    return found


def row_key(course_id: str, version: int, format: str, offers: bool, values: dict[str, str]) -> str:
    """The idempotency key of a row: the course version, the format, whether it is an offer,
    and the row's values (trimmed, in column order); the row's number and the job play no part."""
    normalised = [values.get(name, "").strip() for name in COLUMNS.names]
    text = json.dumps([course_id, version, format, offers, normalised], ensure_ascii=False)
    return "cohort:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_rows(data: bytes, format: str) -> list[jobs.NewRow]:
    """The file's rows, each checked (nothing is signed): rows with errors carry them. A file
    that cannot be read at all is a 422 problem naming each fault."""
    try:
        table = spreadsheets.read(data, COLUMNS)
    except spreadsheets.SpreadsheetTooLarge as exc:
        raise SpreadsheetUnreadable(str(exc)) from None
    if table.file_errors:
        raise SpreadsheetUnreadable(
            "; ".join(e.message for e in table.file_errors),
            errors=[
                {"pointer": f"/file/row/{e.row}", "detail": f"{e.column}: {e.message}".strip(": ")}
                for e in table.file_errors
            ],
        )
    rows: list[jobs.NewRow] = []
    seen: dict[tuple[str, ...], int] = {}
    for row in table.rows:
        errors = [{"column": e.column, "message": e.message} for e in table.errors_of(row.number)]
        if not errors:
            try:
                LearnerFactsIn.model_validate(facts_of(row.values, format))
            except ValidationError as exc:
                errors = row_errors(exc)
        same = tuple(row.values.get(name, "").strip() for name in COLUMNS.names)
        if not errors and same in seen:
            errors = [{"column": "", "message": f"the same learner and values as row {seen[same]}"}]
        seen.setdefault(same, row.number)
        rows.append(jobs.NewRow(row.number, row.values, errors or None))
    return rows


async def create_cohort(
    session: AsyncSession,
    issuer: Issuer,
    course_id: str,
    data: bytes,
    *,
    format: str,
    offers: bool,
    actor: str,
) -> Cohort:
    """Check the file and queue its job (in the caller's transaction), freezing the course's
    current version, from which every row is issued."""
    if format not in FORMATS:
        raise ValidationFailed(
            f"a cohort is issued as {' or '.join(FORMATS)}",
            errors=[{"pointer": "/format", "detail": f"one of {', '.join(FORMATS)}"}],
        )
    state = await courses.get_course(session, issuer, course_id)
    courses.refuse_joint(courses.is_joint(state))
    rows = read_rows(data, format)
    await courses.freeze(session, state.version)
    params = {
        "courseId": course_id,
        "version": state.version.version,
        "format": format,
        "offers": offers,
        "actor": actor,
    }
    job = await jobs.create(session, issuer, JOB_KIND, rows, params=params)
    return Cohort(job, state)


async def _process_row(context: jobs.RowContext) -> dict[str, Any]:
    params = context.job.params
    session, issuer = context.session, context.issuer
    issuing: issuance.Issuing = context.services.issuing
    try:
        facts = LearnerFactsIn.model_validate(facts_of(context.input, params["format"]))
    except ValidationError as exc:  # checked at upload; a vocabulary may have changed since
        raise jobs.RowFailed(row_errors(exc)) from None
    # Read once for the rows that share the transaction (the version is frozen: it cannot change)
    shared = context.shared
    if "course" not in shared:
        shared["course"] = await courses.get_course(
            session, issuer, params["courseId"], params["version"]
        )
        shared["branding"] = await issuance.branding_of(session, issuer)
        # The status lists' counts of all the transaction's rows, written just before it
        # commits: two workers' transactions then do not wait for each other's list row.
        counts: Counter[str] = Counter()
        shared["counts"] = counts
        context.before_commit.append(partial(store.add_counts, counts=counts))
    state: courses.CourseState = shared["course"]
    key = row_key(
        params["courseId"], params["version"], params["format"], params["offers"], context.input
    )
    try:
        if params["offers"]:
            return await _offer(context, state, facts, key)
        order, _ = await courses.course_order(
            session,
            issuer,
            state,
            facts,
            issuing,
            actor=params["actor"],
            idempotency_key=key,
            branding=shared["branding"],
        )
        mine: Counter[str] = Counter()
        issued = await issuance.issue_within(session, issuing, order, counts=mine)
        shared["counts"].update(mine)  # the row is done: its counts join the transaction's
    except Problem as problem:  # what the builders or the profile refuse, in words
        raise jobs.RowFailed([{"column": "", "message": problem.detail or problem.title}]) from None
    return {"credentialId": issued.id}


async def _offer(
    context: jobs.RowContext, state: courses.CourseState, facts: Any, key: str
) -> dict[str, Any]:
    issuer, session = context.issuer, context.session
    policy = oid4vci.policy_of(context.services.settings)
    offer_id, pin = oid4vci.derived_offer(policy, issuer, key)
    reference = oid4vci.IssuerUrls.of(policy.public_url, issuer.slug).offer_url(offer_id)
    earlier = await session.get(CredentialOffer, offer_id)
    if earlier is not None and earlier.issuer_id == issuer.id:
        expires = earlier.expires_at
    else:
        prepared = courses.prepare(issuer, state.version, policy.public_url)
        new = await oid4vci.create_offer(
            session,
            issuer,
            merge(prepared.model, facts),
            policy,
            with_tx_code=True,
            actor=context.job.params["actor"],
            now=utcnow(),
            offer_id=offer_id,
            tx_code=pin,
            course=(prepared.course_id, prepared.version),
        )
        expires = new.offer.expires_at
    return {
        "offerLink": oid4vci.offer_uri(reference),
        "pin": pin,
        "offerExpiresAt": expires.isoformat(),
    }


jobs.register(
    jobs.JobKind(JOB_KIND, _process_row, result_columns=RESULTS, echo_columns=ECHO, batched=True)
)
