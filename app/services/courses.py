"""Courses: create, read, edit (versioned), and issue a learner's credential from one.

A course belongs to one issuer; another issuer's key finds nothing (404, as for credentials).
Its content is kept per version (:class:`~app.db.models.CourseVersion`). A version is frozen
just before the first credential is issued from it (committed first, so a crash between the
freeze and the credential leaves a frozen version without credentials, never a credential of a
changed version); ``PUT`` then makes the next version, otherwise it replaces the current one.
Each version has a stable public page, :func:`public_url`, which its credentials point to.

For cohorts: :func:`prepare` validates a version's content once per process
(:class:`PreparedCourse`, cached per version and its last change), and
:func:`course_order` builds one learner's order from it, which :func:`issue_from_course` issues
in transactions of its own (:func:`app.services.issuance.issue_and_commit`) and a cohort's row
(:mod:`app.services.cohorts`) inside the row's transaction.

A jointly awarded course (``jointAwardingBodies``) issues nothing alone: each learner's credential
is drafted (:func:`draft_from_course`, :mod:`app.services.joint`) and released once every body
has signed it; its bodies are checked when the course is stored (:func:`joint_bodies`).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.credentials.course import CourseIn, content, link_to_course, merge
from app.credentials.microcredential import MicroCredentialIn, OrganisationIn
from app.credentials.stack import StackPart
from app.db.models import Course, CourseVersion, Credential, Issuer, IssuerBranding, utcnow
from app.problems import COURSE_NOT_FOUND, NotFound, ValidationFailed, json_pointer
from app.services import audit, issuance, joint, stacks
from app.services.verification import Verifier

#: A course lists at most this many courses per request.
MAX_LISTED = 1000
#: Prepared versions kept per process.
PREPARED_CACHE_SIZE = 256


class CourseNotFound(NotFound):
    type = COURSE_NOT_FOUND
    title = "Course not found"


@dataclass(frozen=True)
class CourseState:
    """A course and one of its versions (the current one unless asked for another)."""

    course: Course
    version: CourseVersion


@dataclass(frozen=True)
class PreparedCourse:
    """A version's constant part, validated once: what each learner's credential shares."""

    course_id: str
    version: int
    model: Any  # a CourseIn
    url: str


def public_url(base: str, slug: str, course_id: str, version: int) -> str:
    """The stable public page of a course version (``GET /catalogue/{slug}/courses/{id}/{v}``)."""
    return f"{base.rstrip('/')}/catalogue/{slug}/courses/{course_id}/{version}"


def new_course_id() -> str:
    import uuid

    return str(uuid.uuid4())


async def create_course(
    session: AsyncSession, issuer: Issuer, course: Any, *, actor: str
) -> CourseState:
    """Store ``course`` (a validated :class:`CourseIn`) as version 1 of a new course."""
    assert issuer.id is not None
    await stacks.check_stack_of(session, course.stackOf)
    await joint_bodies(session, issuer, course)
    now = utcnow()
    row = Course(
        id=new_course_id(),
        issuer_id=issuer.id,
        current_version=1,
        published=course.published,
        created_at=now,
        updated_at=now,
    )
    version = CourseVersion(
        course_id=row.id, version=1, content=content(course), created_at=now, updated_at=now
    )
    session.add(row)
    await session.flush()
    session.add(version)
    await audit.record(
        session, actor=actor, action="course.created", issuer_id=issuer.id, target=row.id
    )
    await session.flush()
    return CourseState(row, version)


async def _course(session: AsyncSession, issuer: Issuer, course_id: str) -> Course:
    row = await session.get(Course, course_id) if len(course_id) <= 36 else None
    if row is None or row.issuer_id != issuer.id:
        raise CourseNotFound(f"no course {course_id!r}")
    return row


async def _version(session: AsyncSession, course: Course, version: int) -> CourseVersion:
    query = select(CourseVersion).where(
        CourseVersion.course_id == course.id, CourseVersion.version == version
    )
    found = (await session.exec(query)).first()
    if found is None:
        raise CourseNotFound(f"course {course.id!r} has no version {version}")
    return found


async def get_course(
    session: AsyncSession, issuer: Issuer, course_id: str, version: int | None = None
) -> CourseState:
    """A course of ``issuer`` at ``version`` (default: the current one); 404 otherwise."""
    row = await _course(session, issuer, course_id)
    return CourseState(row, await _version(session, row, version or row.current_version))


async def list_courses(session: AsyncSession, issuer: Issuer) -> list[CourseState]:
    """The issuer's courses, oldest first, each at its current version."""
    query = (
        select(Course, CourseVersion)
        .join(
            CourseVersion,
            (col(CourseVersion.course_id) == col(Course.id))
            & (col(CourseVersion.version) == col(Course.current_version)),
        )
        .where(Course.issuer_id == issuer.id)
        .order_by(col(Course.created_at), col(Course.id))
        .limit(MAX_LISTED)
    )
    return [CourseState(c, v) for c, v in (await session.exec(query)).all()]


async def update_course(
    session: AsyncSession, issuer: Issuer, course_id: str, course: Any, *, actor: str
) -> CourseState:
    """Replace the current version's content with ``course``, or, when credentials were issued
    from it (frozen), add version N+1. ``published`` changes without a new version, and the
    same content again changes nothing else."""
    row = await _course(session, issuer, course_id)
    await stacks.check_stack_of(session, course.stackOf, row.id)
    await joint_bodies(session, issuer, course)
    # Lock the course row on PostgreSQL: two edits at once must not both make version N+1.
    await session.exec(update(Course).where(col(Course.id) == row.id).values(updated_at=utcnow()))
    await session.refresh(row)
    current = await _version(session, row, row.current_version)
    now = utcnow()
    new_content = content(course)
    row.published = course.published
    row.updated_at = now
    if new_content != current.content:
        if current.frozen:
            current = CourseVersion(
                course_id=row.id,
                version=row.current_version + 1,
                content=new_content,
                created_at=now,
                updated_at=now,
            )
            row.current_version = current.version
        else:
            current.content = new_content
            current.updated_at = now
        session.add(current)
    session.add(row)
    await audit.record(
        session,
        actor=actor,
        action="course.updated",
        issuer_id=issuer.id,
        target=row.id,
        details={"version": row.current_version, "published": row.published},
    )
    await session.flush()
    return CourseState(row, current)


_PREPARED: OrderedDict[tuple[str, int, datetime], PreparedCourse] = OrderedDict()


def prepare(issuer: Issuer, version: CourseVersion, base_url: str) -> PreparedCourse:
    """The version's validated course model and public URL, computed once per process for
    each version and last change (a frozen version never changes again).

    What else could be prepared once per version for large cohorts: the EDC's specification
    subtree (``specifiedBy``: outcomes, credit points, accreditation, built per credential now),
    its canonical N-Quads (only the learner's and the status entry's quads differ), its SHACL
    focus nodes, and the certificate page's course part (title, outcomes) before the learner's
    name is drawn.
    """
    key = (version.course_id, version.version, version.updated_at)
    prepared = _PREPARED.get(key)
    if prepared is not None:
        _PREPARED.move_to_end(key)
        return prepared
    prepared = PreparedCourse(
        course_id=version.course_id,
        version=version.version,
        model=CourseIn.model_validate(version.content),
        url=public_url(base_url, issuer.slug, version.course_id, version.version),
    )
    _PREPARED[key] = prepared
    while len(_PREPARED) > PREPARED_CACHE_SIZE:
        _PREPARED.popitem(last=False)
    return prepared


async def freeze(session: AsyncSession, version: CourseVersion) -> None:
    """Mark the version as having credentials (edits then make the next version): before
    anything is signed from it, in the caller's transaction."""
    if not version.frozen:
        await session.exec(
            update(CourseVersion).where(col(CourseVersion.id) == version.id).values(frozen=True)
        )


def facts_hash(course_id: str, version: int, facts: Any) -> str:
    """The request hash recorded with a credential issued from a course version: a retry with
    the same idempotency key must carry the same course, version and facts."""
    return issuance.request_hash(
        {"course": course_id, "version": version, "facts": facts.model_dump(mode="json")}
    )


async def course_order(
    session: AsyncSession,
    issuer: Issuer,
    state: CourseState,
    facts: Any,
    issuing: issuance.Issuing,
    *,
    actor: str,
    idempotency_key: str | None = None,
    verifier: Verifier | None = None,
    branding: IssuerBranding | None | Literal["read"] = "read",
) -> tuple[issuance.IssueOrder, PreparedCourse]:
    """The order that issues ``facts`` (a validated
    :class:`~app.credentials.course.LearnerFactsIn`) from the course version of ``state``,
    which it freezes (in ``session``): the credential points to that version's public page and
    its row records the course and version (``credentials.course_id``, ``course_version``).
    Issuing it is the caller's: in transactions of its own or inside the caller's. A stack
    (``facts.stack``) needs the ``verifier`` that checks its parts
    (:func:`app.services.stacks.resolve_and_commit`). ``branding``
    (:func:`app.services.issuance.branding_of`) is read unless the caller read it already."""
    prepared = prepare(issuer, state.version, issuing.policy.public_url)
    refuse_joint(bool(prepared.model.jointAwardingBodies))
    mc = merge(prepared.model, facts)
    parts: list[StackPart] | None = None
    stack_of = prepared.model.stackOf
    if stack_of and verifier is None:
        raise ValidationFailed(
            "a course that is a stack issues one credential at a time",
            errors=[
                {
                    "pointer": "/stackOf",
                    "detail": "its credentials are issued by POST /courses/{id}/credentials, "
                    "each stack verified there",
                }
            ],
        )
    body_hash = facts_hash(prepared.course_id, prepared.version, facts)
    if (stack_of or mc.stack is not None) and await issuance.replayed(
        session, issuer, idempotency_key, body_hash
    ):
        parts = []  # a retry: the first credential is replayed, its parts verified then
    elif stack_of and mc.stack is None:
        mc = await stacks.course_stack(session, mc, stack_of)
    if mc.stack is not None and verifier is not None and parts is None:
        parts, mc = await stacks.resolve_and_commit(session, verifier, mc, now=utcnow())
    await freeze(session, state.version)
    order = issuance.microcredential_order(
        mc,
        issuer,
        issuing,
        actor=actor,
        idempotency_key=idempotency_key,
        body_hash=body_hash,
        branding=(
            await issuance.branding_of(session, issuer) if isinstance(branding, str) else branding
        ),
        parts=parts,
    )
    order = linked_to_course(order, mc, prepared.course_id, prepared.version, prepared.url)
    return order, prepared


def linked_to_course(
    order: issuance.IssueOrder, mc: MicroCredentialIn, course_id: str, version: int, url: str
) -> issuance.IssueOrder:
    """``order`` (of ``mc``) making a credential that points to the course version's public page
    ``url`` and whose row records the course and version (what ``GET /credentials?course=``
    finds)."""
    build = order.build

    def build_linked(uri: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
        return link_to_course(build(uri, entries), mc.format, url)

    return replace(
        order,
        build=build_linked,
        search=issuance.SearchFields.of_learner(mc.learner, course_id, version),
    )


async def issue_from_course(
    session: AsyncSession,
    issuer: Issuer,
    course_id: str,
    facts: Any,
    issuing: issuance.Issuing,
    *,
    actor: str,
    idempotency_key: str | None = None,
    verifier: Verifier | None = None,
    joint_ttl: timedelta | None = None,
) -> tuple[issuance.Issued | joint.JointView, PreparedCourse]:
    """Issue ``facts`` from the course's current version (:func:`course_order`).

    Issues through :func:`app.services.issuance.issue_and_commit`, whose read step also commits
    the version's freeze. With ``idempotency_key`` a retry replays the first credential (the key
    is the issuer's, shared with ``POST /microcredentials``). Given ``joint_ttl``, a jointly
    awarded course drafts the credential instead (:func:`draft_from_course`): the view of the
    draft is returned.
    """
    state = await get_course(session, issuer, course_id)
    if joint_ttl is not None and is_joint(state):
        view, prepared = await draft_from_course(
            session, issuer, state, facts, issuing, actor=actor, ttl=joint_ttl
        )
        return view, prepared
    order, prepared = await course_order(
        session,
        issuer,
        state,
        facts,
        issuing,
        actor=actor,
        idempotency_key=idempotency_key,
        verifier=verifier,
    )
    issued = await issuance.issue_and_commit(session, issuing, order)
    return issued, prepared


def is_joint(state: CourseState) -> bool:
    """Whether the version's content declares the course jointly awarded."""
    return bool(state.version.content.get("jointAwardingBodies"))


def refuse_joint(declared: bool) -> None:
    """Refuse to issue alone from a course ``declared`` jointly awarded: its credentials need
    every body's proof (a cohort cannot gather them)."""
    if declared:
        raise ValidationFailed(
            "a jointly awarded course's credentials are drafted one learner at a time",
            errors=[
                {
                    "pointer": "/jointAwardingBodies",
                    "detail": "each credential of this course needs every awarding body's "
                    "proof: draft it with POST /courses/{id}/credentials, then each body signs "
                    "it (POST /joint-credentials/{id}/proofs); cohorts are not issued jointly",
                }
            ],
        )


async def joint_bodies(
    session: AsyncSession, issuer: Issuer, course: Any
) -> list[OrganisationIn] | None:
    """A jointly awarded course's (``course``, a :class:`CourseIn`) awarding bodies as the
    credential names them: hosted issuers found by slug or DID (their records' data), bodies
    elsewhere by did:key or did:web with their name and country; ``issuer`` must be one of
    them. None for a course awarded by its issuer alone. 422 with pointers otherwise."""
    if not course.jointAwardingBodies:
        return None
    errors = [
        {"pointer": f"/{name}", "detail": detail}
        for name, detail in (
            ("awardingBodies", "a jointly awarded course names its bodies in jointAwardingBodies"),
            ("stackOf", "a stack is not awarded jointly"),
            ("mandateStatement", "the issuer is an awarding body: it needs no mandate"),
        )
        if getattr(course, name)
    ]
    if errors:
        raise ValidationFailed("the course cannot be awarded jointly", errors=errors)
    refs = [
        joint.BodyRef(
            ref.issuer, ref.model_dump(mode="json", exclude={"issuer"}, exclude_none=True)
        )
        for ref in course.jointAwardingBodies
    ]
    organisations = await joint.resolve_bodies(
        session, issuer, refs, field="jointAwardingBodies", lead_role="the course's issuer"
    )
    bodies: list[OrganisationIn] = []
    for index, organisation in enumerate(organisations):
        try:
            bodies.append(OrganisationIn.model_validate(organisation))
        except ValidationError as exc:
            errors += [
                {
                    "pointer": json_pointer(("jointAwardingBodies", index, *e["loc"])),
                    "detail": str(e["msg"]),
                }
                for e in exc.errors()
            ]
    if errors:
        raise ValidationFailed("the awarding bodies cannot be used", errors=errors)
    return bodies


async def draft_from_course(
    session: AsyncSession,
    issuer: Issuer,
    state: CourseState,
    facts: Any,
    issuing: issuance.Issuing,
    *,
    actor: str,
    ttl: timedelta,
) -> tuple[joint.JointView, PreparedCourse]:
    """Draft the joint credential of ``facts`` from a jointly awarded course version (which it
    freezes, in ``session``): the lead's (``issuer``'s) proof added now, the other bodies' with
    ``POST /joint-credentials/{id}/proofs``. The draft points to the version's public page;
    the credential, once released, records the course and version (``GET /credentials?course=``).
    No idempotent replay: each call drafts anew."""
    if facts.stack is not None:
        raise ValidationFailed(
            "a jointly awarded credential is not a stack",
            errors=[{"pointer": "/stack", "detail": "leave it out for a jointly awarded course"}],
        )
    prepared = prepare(issuer, state.version, issuing.policy.public_url)
    bodies = await joint_bodies(session, issuer, prepared.model)
    mc = merge(prepared.model, facts).model_copy(update={"awardingBodies": bodies})
    await freeze(session, state.version)
    view = await joint.create(
        session,
        issuing,
        issuer,
        mc,
        actor=actor,
        ttl=ttl,
        course=joint.CourseLink(prepared.course_id, prepared.version, prepared.url),
    )
    return view, prepared


async def version_credentials(
    session: AsyncSession, issuer: Issuer, course_id: str, version: int
) -> list[str]:
    """The ids of the credentials issued from one version of an issuer's course."""
    await _course(session, issuer, course_id)
    query = select(Credential.id).where(
        Credential.issuer_id == issuer.id,
        Credential.course_id == course_id,
        Credential.course_version == version,
    )
    return list((await session.exec(query)).all())


def describe(state: CourseState, issuer: Issuer, base_url: str) -> dict[str, Any]:
    """A course version as the API and the CLI show it: metadata, then the content."""
    return {
        "id": state.course.id,
        "version": state.version.version,
        "currentVersion": state.course.current_version,
        "frozen": state.version.frozen,
        "published": state.course.published,
        "publicUrl": public_url(base_url, issuer.slug, state.course.id, state.version.version),
        "createdAt": state.version.created_at,
        "updatedAt": state.version.updated_at,
        **state.version.content,
    }
