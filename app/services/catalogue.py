"""The public catalogue: published courses, filtered, as ELM learning opportunities.

A course is listed (``/catalogue``, ``/catalogue/{slug}``) at its current version only while
its issuer says ``published``. A version's own page (``/catalogue/{slug}/courses/{id}/{v}``)
answers for a published course, and for any version credentials were issued from (frozen):
those credentials link there, so the page must not vanish when the course is withdrawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.credentials.catalogue import learning_opportunity
from app.db.models import Course, CourseVersion, Issuer
from app.services import courses
from app.services.issuance import issuer_profile

#: At most this many courses are listed per request.
MAX_LISTED = 500


@dataclass(frozen=True)
class Filters:
    """What a catalogue reader narrows the list by (every one optional)."""

    eqf: int | None = None
    ects_min: Decimal | None = None
    ects_max: Decimal | None = None
    language: str | None = None
    mode: str | None = None
    subject: str | None = None

    def keeps(self, course: Any) -> bool:
        ects = course.workload.ects
        if self.eqf is not None and course.eqfLevel != self.eqf:
            return False
        if self.ects_min is not None and (ects is None or ects < self.ects_min):
            return False
        if self.ects_max is not None and (ects is None or ects > self.ects_max):
            return False
        if self.language is not None and self.language not in languages_of(course):
            return False
        if self.mode is not None and course.participation.mode != self.mode:
            return False
        return self.subject is None or self.subject in course.subjects


def languages_of(course: Any) -> list[str]:
    """The languages of instruction, else the languages the title is given in."""
    return list(course.languages) or list(course.title)


@dataclass(frozen=True)
class Entry:
    """One course version in the catalogue."""

    issuer: Issuer
    course: Course
    prepared: courses.PreparedCourse

    @property
    def model(self) -> Any:
        return self.prepared.model

    def json_ld(self) -> dict[str, Any]:
        """The version as an ELM ``LearningOpportunity`` node (no ``@context``)."""
        return learning_opportunity(self.model, issuer_profile(self.issuer), self.prepared.url)


async def published(
    session: AsyncSession, base_url: str, filters: Filters, slug: str | None = None
) -> list[Entry]:
    """The published courses (of the issuer ``slug``, or of every issuer), newest first."""
    query = (
        select(Course, CourseVersion, Issuer)
        .join(
            CourseVersion,
            (col(CourseVersion.course_id) == col(Course.id))
            & (col(CourseVersion.version) == col(Course.current_version)),
        )
        .join(Issuer, col(Issuer.id) == col(Course.issuer_id))
        .where(col(Course.published).is_(True))
        .order_by(col(Course.updated_at).desc(), col(Course.id))
        .limit(MAX_LISTED)
    )
    if slug is not None:
        query = query.where(Issuer.slug == slug)
    entries = []
    for course, version, issuer in (await session.exec(query)).all():
        entry = Entry(issuer, course, courses.prepare(issuer, version, base_url))
        if filters.keeps(entry.model):
            entries.append(entry)
    return entries


async def issuer_by_slug(session: AsyncSession, slug: str) -> Issuer | None:
    return (await session.exec(select(Issuer).where(Issuer.slug == slug))).first()


async def version_page(
    session: AsyncSession, base_url: str, slug: str, course_id: str, version: int
) -> Entry | None:
    """One course version, when it is public (see the module docstring); else None."""
    issuer = await issuer_by_slug(session, slug)
    course = await session.get(Course, course_id) if len(course_id) <= 36 else None
    if issuer is None or course is None or course.issuer_id != issuer.id:
        return None
    query = select(CourseVersion).where(
        CourseVersion.course_id == course.id, CourseVersion.version == version
    )
    row = (await session.exec(query)).first()
    if row is None or not (row.frozen or (course.published and version == course.current_version)):
        return None
    return Entry(issuer, course, courses.prepare(issuer, row, base_url))


def facets(entries: Sequence[Entry]) -> dict[str, list[Any]]:
    """The values the filters can take among ``entries`` (for the page's choices)."""
    languages: set[str] = set()
    modes: set[str] = set()
    subjects: set[str] = set()
    for entry in entries:
        languages.update(languages_of(entry.model))
        modes.add(entry.model.participation.mode)
        subjects.update(entry.model.subjects)
    return {
        "languages": sorted(languages),
        "modes": sorted(modes),
        "subjects": sorted(subjects),
    }
