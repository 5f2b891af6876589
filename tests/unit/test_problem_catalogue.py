"""The problem model is one: our problem types are defined once, in app/problems.py, and every
problem object is written by the one ProblemDetails.to_json."""

from __future__ import annotations

from pathlib import Path

import app
from app import problems
from app.problems import NotFound, ProblemDetails, ValidationFailed

APP = Path(app.__file__).parent


def test_our_problem_types_are_defined_only_in_the_catalogue() -> None:
    elsewhere = [
        str(path.relative_to(APP))
        for path in APP.rglob("*.py")
        if path.name != "problems.py" or path.parent != APP
        if "urn:microcred:problem" in path.read_text(encoding="utf-8")
    ]
    assert elsewhere == []


def test_each_catalogued_type_is_defined_once() -> None:
    urns = [
        value
        for name, value in vars(problems).items()
        if name.isupper() and isinstance(value, str) and value.startswith("urn:microcred:")
    ]
    assert len(urns) > 40
    assert len(set(urns)) == len(urns)


def test_a_raised_problem_and_a_result_entry_share_one_json_shape() -> None:
    raised = ValidationFailed("bad", errors=[{"pointer": "/a", "detail": "no"}])
    assert raised.details(instance="/x").to_json() == {
        "type": problems.VALIDATION_ERROR,
        "title": "The request is not valid",
        "status": 422,
        "detail": "bad",
        "instance": "/x",
        "errors": [{"pointer": "/a", "detail": "no"}],
    }
    assert NotFound().details().to_json() == {
        "type": problems.NOT_FOUND,
        "title": "Not found",
        "status": 404,
    }
    entry = ProblemDetails(problems.CREDENTIAL_EXPIRED, "Credential expired", detail="")
    assert entry.under("/verifiableCredential").to_json() == {
        "type": problems.CREDENTIAL_EXPIRED,
        "title": "Credential expired",
        "detail": "",
        "pointer": "/verifiableCredential",
    }
