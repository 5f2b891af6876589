"""A complete example micro-credential request and issuer (API docs, tests, benchmarks).

The facts follow the official Europass micro-credential sample ("Digital micro-credential
creation", University of Zed, Ireland) as used in ``API.md``.
"""

from __future__ import annotations

import copy
from typing import Any

from app.credentials.microcredential import IssuerProfile

EXAMPLE_ISSUER_DID = "did:web:credentials.uni-zed.example:issuers:uni-zed"
EXAMPLE_LEARNER_DID = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"

_EXAMPLE_REQUEST: dict[str, Any] = {
    "format": "edc",
    "cryptosuite": "eddsa-rdfc-2022",
    "learner": {
        "id": EXAMPLE_LEARNER_DID,
        "givenName": "Aoife",
        "familyName": "Murphy",
        "dateOfBirth": "1999-04-02",
        "identifier": {"scheme": "student-number", "value": "S1234567"},
        "email": "aoife@example.org",
    },
    "title": {
        "en": "Digital micro-credential creation",
        "ga": "Cruthú micrea-dhintiúr digiteach",
    },
    "description": {"en": "Creating digital micro-credentials that follow the ELM standard."},
    "awardedOn": "2026-06-30",
    "learningOutcomes": [
        {
            "title": {"en": "Develop digital content"},
            "escoSkill": "http://data.europa.eu/esco/skill/5fd5c985-eaaa-47aa-8314-62359c54505a",
        },
        {"title": {"en": "Communication, collaboration and creativity"}},
    ],
    "workload": {"ects": 2, "hours": 60},
    "eqfLevel": 6,
    "qfEheaCycle": "first",
    "assessment": {
        "type": "http://data.europa.eu/snb/assessment/de4d165a6c",
        "title": {"en": "Digital artefact assessment"},
        "gradingScheme": {"en": "Pass/fail"},
    },
    "participation": {
        "mode": "http://data.europa.eu/snb/learning-assessment/e92d221e4d",
        "setting": "http://data.europa.eu/snb/learning-setting/e207a81fc7",
    },
    "qualityAssurance": {
        "type": "http://data.europa.eu/snb/accreditation/820101cba6",
        "title": {"en": "Programme validated by QQI"},
        "agency": {"name": {"en": "Quality and Qualifications Ireland"}, "country": "IRL"},
    },
    "prerequisites": {"en": "An EU Login account."},
    "supervision": "http://data.europa.eu/snb/supervision-verification/c598449d64",
    "grade": "Pass",
    "stackability": {
        "standalone": True,
        "partOf": [
            {"title": {"en": "MSc in Digital Education"}, "url": "https://www.uni-zed.example/msc"}
        ],
    },
    "furtherInformation": {"en": "https://www.uni-zed.example/micro-credentials/edc"},
    "validUntil": "2031-06-30T00:00:00Z",
}


def example_request(**overrides: Any) -> dict[str, Any]:
    """A fresh copy of the example body; top-level keys in ``overrides`` replace its own."""
    body = copy.deepcopy(_EXAMPLE_REQUEST)
    body.update(copy.deepcopy(overrides))
    return body


def example_issuer() -> IssuerProfile:
    return IssuerProfile(
        did=EXAMPLE_ISSUER_DID,
        name={"en": "University of Zed", "ga": "Ollscoil Zed"},
        country="IRL",
        legal_identifier="IE1234567X",
        homepage="https://www.uni-zed.example",
    )
