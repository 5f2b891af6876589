"""The course model: composed from the micro-credential's own fields, merged with a learner's
facts into exactly what full validation gives, and prepared once per version."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.credentials.course import (
    LEARNER_FIELDS,
    CourseIn,
    LearnerFactsIn,
    content,
    merge,
)
from app.credentials.examples import example_request
from app.credentials.microcredential import MicroCredentialIn
from app.db.models import CourseVersion, Issuer
from app.services import courses


def split(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    course = {k: v for k, v in body.items() if k not in LEARNER_FIELDS}
    facts = {k: v for k, v in body.items() if k in LEARNER_FIELDS}
    return course, facts


def test_the_course_has_every_field_of_the_body_but_the_learners() -> None:
    mc_fields = set(MicroCredentialIn.model_fields)
    assert set(CourseIn.model_fields) == (mc_fields - set(LEARNER_FIELDS)) | {
        "published",
        "languages",
        "subjects",
        "stackOf",
        "jointAwardingBodies",
    }
    assert set(LearnerFactsIn.model_fields) == set(LEARNER_FIELDS) | {"supervision"}


@pytest.mark.parametrize("format", ["edc", "obv3"])
@pytest.mark.parametrize("supervision", [None, "supervised-with-id-verification"])
def test_merge_equals_validating_the_whole_body(format: str, supervision: str | None) -> None:
    body = example_request(format=format, grade="Pass")
    course, facts = split(body)
    if supervision:
        facts["supervision"] = supervision
    merged = merge(CourseIn.model_validate(course), LearnerFactsIn.model_validate(facts))
    whole = MicroCredentialIn.model_validate({**body, **facts})
    assert merged == whole
    assert merged.model_dump(mode="json") == whole.model_dump(mode="json")


def test_a_stored_course_validates_again_to_the_same_course() -> None:
    course, _ = split(example_request())
    validated = CourseIn.model_validate({**course, "subjects": ["0613"], "published": True})
    again = CourseIn.model_validate(content(validated))
    assert content(again) == content(validated)
    assert "published" not in content(validated)


def test_a_version_is_prepared_once_per_change() -> None:
    course, _ = split(example_request())
    issuer = Issuer(
        slug="uni-zed",
        did="did:web:x",
        did_method="web",
        name={"en": "U"},
        country="IRL",
        legal_identifier="IE1",
        created_at=datetime.now(UTC),
    )
    now = datetime.now(UTC)
    version = CourseVersion(
        course_id="c1", version=1, content=course, created_at=now, updated_at=now
    )
    first = courses.prepare(issuer, version, "https://credentials.example.edu")
    assert courses.prepare(issuer, version, "https://credentials.example.edu") is first
    assert first.url == "https://credentials.example.edu/catalogue/uni-zed/courses/c1/1"
    version.content = {**course, "eqfLevel": 5}
    version.updated_at = now + timedelta(seconds=1)
    changed = courses.prepare(issuer, version, "https://credentials.example.edu")
    assert changed is not first and changed.model.eqfLevel == 5
