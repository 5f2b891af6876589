"""A course: the part of the EU micro-credential body that is not about the learner.

:class:`CourseIn` (the body of ``POST /courses``) is composed from :class:`MicroCredentialIn`'s
own fields, so a course is validated exactly as a micro-credential is, with the same per-field
errors; it leaves out what belongs to one learner (:data:`LEARNER_FIELDS`) and adds what only a
course has: ``published`` (whether the public catalogue lists it), ``languages`` (of
instruction) and ``subjects`` (ISCED-F fields of education), which the catalogue filters by;
``stackOf``, the courses it is a stack of (:mod:`app.services.stacks`); and
``jointAwardingBodies``, the bodies (the course's issuer among them) that award its credentials
jointly, each signing them (:mod:`app.services.joint`).

:class:`LearnerFactsIn` (the body of ``POST /courses/{id}/credentials``) is composed the same
way from the learner's fields; ``supervision`` given there overrides the course's for that
learner. :func:`merge` joins a validated course and validated facts into the
:class:`MicroCredentialIn` the builders take, without validating the course again: the course
part is checked once per version, each learner only for its own fields.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from pydantic import Field, ValidationInfo, create_model, field_validator

from app.credentials.fieldtypes import (
    MAX_AWARDING_BODIES,
    MAX_LANGUAGES,
    InputModel,
    LanguageCode,
    SubjectArea,
    text_constraint,
)
from app.credentials.joint import JointAwardingBodyIn
from app.credentials.microcredential import MAX_STACK_PARTS, MicroCredentialIn

#: The micro-credential fields that describe one learner's award, not the course.
LEARNER_FIELDS = (
    "format",
    "cryptosuite",
    "learner",
    "awardedOn",
    "grade",
    "validUntil",
    "stack",
)
#: Learner fields that may also carry a course-wide default (the learner's value wins).
OVERRIDABLE_FIELDS = ("supervision",)
MAX_SUBJECTS = 10

IscedField = SubjectArea


def _fields(names: tuple[str, ...] | None, leave_out: tuple[str, ...] = ()) -> dict[str, Any]:
    """``MicroCredentialIn``'s field definitions (type and constraints), in its order."""
    return {
        name: (info.annotation, info)
        for name, info in MicroCredentialIn.model_fields.items()
        if (names is None or name in names) and name not in leave_out
    }


class _CourseExtras(InputModel):
    published: bool = Field(
        default=False,
        description="whether the course is to be listed in the public course "
        "catalogue (default false); it belongs to the course, not to one "
        "version",
    )
    languages: Annotated[list[LanguageCode], Field(max_length=MAX_LANGUAGES)] = Field(
        default=[],
        description="the languages of instruction, ISO 639-1 codes (see GET "
        "/vocabularies/language); empty: the languages the title is given "
        "in",
    )
    subjects: Annotated[list[IscedField], Field(max_length=MAX_SUBJECTS)] = Field(
        default=[],
        description="the course's fields of education, ISCED-F concept URIs (see GET "
        "/vocabularies/isced-f); at most 10",
    )
    stackOf: (
        Annotated[
            list[Annotated[str, text_constraint(64)]],
            Field(min_length=1, max_length=MAX_STACK_PARTS),
        ]
        | None
    ) = Field(
        default=None,
        description="the ids of the courses (held by this service) this course is a stack "
        "of: a learner's credential from it is awarded for the learner's latest credential "
        "of each of them, found by the learner's identifier (or e-mail, or DID), unless the "
        "request gives `stack` itself",
    )
    jointAwardingBodies: (
        Annotated[
            list[JointAwardingBodyIn],
            Field(min_length=2, max_length=MAX_AWARDING_BODIES),
        ]
        | None
    ) = Field(
        default=None,
        description="the bodies that award the course's credentials jointly (2 to "
        f"{MAX_AWARDING_BODIES}), the course's issuer among them, as `awardingBodies` of POST "
        "/joint-credentials: then POST /courses/{id}/credentials drafts a joint credential "
        "each of them signs (`awardingBodies`, `stackOf` and `mandateStatement` are left out)",
    )


CourseIn = create_model(
    "CourseIn",
    __base__=_CourseExtras,
    __doc__="The body of `POST /courses` and `PUT /courses/{id}`.",
    **_fields(None, leave_out=LEARNER_FIELDS),
)


class _FactsBase(InputModel):
    @field_validator("validUntil", check_fields=False)
    @classmethod
    def _after_award(cls, value: Any, info: ValidationInfo) -> Any:
        awarded = info.data.get("awardedOn")
        if value is not None and isinstance(awarded, date) and value.date() <= awarded:
            raise ValueError("validUntil must be after awardedOn")
        return value


LearnerFactsIn = create_model(
    "LearnerFactsIn",
    __base__=_FactsBase,
    __doc__="The body of `POST /courses/{id}/credentials`: one learner's award.",
    **_fields(LEARNER_FIELDS + OVERRIDABLE_FIELDS),
)

#: The course fields :func:`content` stores (no ``published``: that is not versioned).
CONTENT_FIELDS = tuple(name for name in CourseIn.model_fields if name != "published")


def content(course: Any) -> dict[str, Any]:
    """A validated course's versioned content as JSON (what a version stores)."""
    dumped: dict[str, Any] = course.model_dump(
        mode="json", exclude_none=True, exclude={"published"}
    )
    return dumped


def merge(course: Any, facts: Any) -> MicroCredentialIn:
    """The micro-credential of ``facts`` (a :class:`LearnerFactsIn`) on ``course`` (a
    :class:`CourseIn`), both validated already: no field is checked again."""
    values = {
        name: getattr(course, name)
        for name in MicroCredentialIn.model_fields
        if name in CourseIn.model_fields
    }
    for name in LearnerFactsIn.model_fields:
        value = getattr(facts, name)
        if name in OVERRIDABLE_FIELDS and value is None:
            continue
        values[name] = value
    fields_set = {name for name, value in values.items() if value is not None}
    return MicroCredentialIn.model_construct(fields_set, **values)


def _web_resource_id(url: str) -> str:
    return f"urn:epass:webResource:{uuid.uuid5(uuid.NAMESPACE_URL, url)}"


def link_to_course(document: dict[str, Any], format: str, url: str) -> dict[str, Any]:
    """``document`` (an unsigned credential built from a course) pointing to the course version's
    public page ``url`` (``/catalogue/{slug}/courses/{id}/{version}``).

    * EDC: the learning achievement gets ``learningOpportunity`` (ELM
      ``elm:learningOpportunity``), a ``LearningOpportunity`` whose ``id`` is ``url``, provided by
      the issuer, whose ``learningAchievementSpecification`` is the credential's own
      specification and whose ``homepage`` is ``url`` (what Europass shows as a link);
    * Open Badges: the achievement's ``id`` is ``url`` (the OB way to name the hosted
      achievement definition).
    """
    subject = document["credentialSubject"]
    if format == "obv3":
        subject["achievement"]["id"] = url
        return document
    claim = subject["hasClaim"][0]
    issuer = document["issuer"]
    claim["learningOpportunity"] = {
        "id": url,
        "type": "LearningOpportunity",
        "title": dict(claim["title"]),
        "homepage": [{"id": _web_resource_id(url), "type": "WebResource", "contentURL": url}],
        "providedBy": issuer["id"] if isinstance(issuer, dict) else issuer,
        "learningAchievementSpecification": claim["specifiedBy"]["id"],
    }
    return document
