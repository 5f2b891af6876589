"""``missing_eu_elements``: which mandatory EU elements a credential (EDC or OBv3) lacks."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app.credentials.edc import build_edc
from app.credentials.examples import example_issuer, example_request
from app.credentials.microcredential import MicroCredentialIn
from app.credentials.obv3 import build_obv3
from app.credentials.profile import EU_ELEMENTS, missing_eu_elements

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "edc" / "samples"

Json = dict[str, Any]
Damage = Callable[[Json], None]


def _options() -> dict[str, Any]:
    return {
        "credential_id": "urn:uuid:2b0c1f9e-1111-4c4e-9a53-000000000001",
        "issued": datetime(2026, 7, 1, tzinfo=UTC),
        "status": None,
    }


@pytest.fixture(scope="module")
def edc() -> Json:
    mc = MicroCredentialIn.model_validate(example_request())
    return build_edc(mc, example_issuer(), display_images={"en": b"png"}, **_options())


@pytest.fixture(scope="module")
def badge() -> Json:
    mc = MicroCredentialIn.model_validate(example_request(format="obv3"))
    return build_obv3(mc, example_issuer(), **_options())


def test_built_credentials_have_every_element(edc: Json, badge: Json) -> None:
    assert missing_eu_elements(edc) == []
    assert missing_eu_elements(badge) == []


def test_an_unknown_credential_lacks_everything() -> None:
    assert missing_eu_elements({"type": ["VerifiableCredential"]}) == list(EU_ELEMENTS)
    assert missing_eu_elements({}) == list(EU_ELEMENTS)


def _claim(c: Json) -> Json:
    claim: Json = c["credentialSubject"]["hasClaim"][0]
    return claim


def _spec(c: Json) -> Json:
    spec: Json = _claim(c)["specifiedBy"]
    return spec


def _drop(node: Json, *keys: str) -> None:
    for key in keys:
        node.pop(key, None)


def _edc_learner(c: Json) -> None:
    keys = ("id", "fullName", "givenName", "familyName", "identifier", "contactPoint")
    _drop(c["credentialSubject"], *keys)


def _edc_title(c: Json) -> None:
    _drop(_claim(c), "title")
    _drop(_spec(c), "title")


def _edc_awarded_on(c: Json) -> None:
    _drop(_claim(c)["awardedBy"], "awardingDate")
    _drop(c, "issued", "issuanceDate", "validFrom")


def _edc_workload(c: Json) -> None:
    _drop(_spec(c), "creditPoint", "volumeOfLearning")
    _drop(_claim(c), "creditReceived")


def _edc_assessment(c: Json) -> None:
    _drop(_spec(c), "provenBy")
    _drop(_claim(c), "provenBy")


EDC_DAMAGE: dict[str, Damage] = {
    "learner": _edc_learner,
    "title": _edc_title,
    "awardingBody": lambda c: _drop(_claim(c)["awardedBy"], "awardingBody"),
    "country": lambda c: _drop(c["issuer"], "location"),
    "awardedOn": _edc_awarded_on,
    "learningOutcomes": lambda c: _drop(_spec(c), "learningOutcome"),
    "workload": _edc_workload,
    "assessment": _edc_assessment,
    "participation": lambda c: _drop(_spec(c), "mode"),
    "qualityAssurance": lambda c: _drop(_spec(c), "accreditation"),
}


def _ach(c: Json) -> Json:
    achievement: Json = c["credentialSubject"]["achievement"]
    return achievement


def _drop_alignments(c: Json, *target_types: str) -> None:
    _ach(c)["alignment"] = [a for a in _ach(c)["alignment"] if a["targetType"] not in target_types]


def _ob_awarding_body(c: Json) -> None:
    _drop(c["issuer"], "name")
    _drop(_ach(c)["creator"], "name")


def _ob_learning_outcomes(c: Json) -> None:
    _drop_alignments(c, "ext:ESCOSkill")
    _drop(_ach(c), "criteria")


def _ob_workload(c: Json) -> None:
    _drop(_ach(c), "creditsAvailable")
    _drop(c["credentialSubject"], "creditsEarned")
    _drop_alignments(c, "ext:VolumeOfLearning")


def _ob_assessment(c: Json) -> None:
    _drop(_ach(c), "resultDescription")
    _drop_alignments(c, "ext:AssessmentType")


OB_DAMAGE: dict[str, Damage] = {
    "learner": lambda c: _drop(c["credentialSubject"], "id", "identifier"),
    "title": lambda c: _drop(_ach(c), "name"),
    "awardingBody": _ob_awarding_body,
    "country": lambda c: _drop(c["issuer"], "address"),
    "awardedOn": lambda c: _drop(c, "awardedDate", "validFrom"),
    "learningOutcomes": _ob_learning_outcomes,
    "workload": _ob_workload,
    "assessment": _ob_assessment,
    "participation": lambda c: _drop_alignments(c, "ext:ModeOfLearning"),
    "qualityAssurance": lambda c: _drop_alignments(c, "ext:QualityAssurance"),
}


@pytest.mark.parametrize("element", EU_ELEMENTS)
def test_each_removed_element_is_reported_in_an_edc(edc: Json, element: str) -> None:
    damaged = copy.deepcopy(edc)
    EDC_DAMAGE[element](damaged)
    assert missing_eu_elements(damaged) == [element]


@pytest.mark.parametrize("element", EU_ELEMENTS)
def test_each_removed_element_is_reported_in_a_badge(badge: Json, element: str) -> None:
    damaged = copy.deepcopy(badge)
    OB_DAMAGE[element](damaged)
    assert missing_eu_elements(damaged) == [element]


def test_single_values_count_like_one_element_arrays(edc: Json) -> None:
    compact = copy.deepcopy(edc)
    claim = _claim(compact)
    claim["specifiedBy"]["mode"] = claim["specifiedBy"]["mode"][0]
    compact["credentialSubject"]["hasClaim"] = claim
    assert missing_eu_elements(compact) == []


def test_the_official_sample_lacks_only_quality_assurance() -> None:
    sample = SAMPLES / "Sample-MC-Annex1-unsigned.jsonld"
    credential = json.loads(sample.read_text(encoding="utf-8"))
    # MAPPING.md §4, M11: quality assurance is "not in the official MC samples".
    assert missing_eu_elements(credential) == ["qualityAssurance"]


def test_a_generic_open_badge_lacks_the_eu_elements() -> None:
    sample = SAMPLES / "1edtech-obv3-fullOpenBadge.json"
    missing = missing_eu_elements(json.loads(sample.read_text(encoding="utf-8")))
    assert "participation" in missing
    assert "title" not in missing and "learner" not in missing
