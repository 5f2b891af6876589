"""SD-JWT (app.sdjwt.core) and the micro-credential SD-JWT VC (app.sdjwt.microcredential)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from app.credentials.microcredential import IssuerProfile, MicroCredentialIn
from app.crypto import jws
from app.crypto.keys import KeyPair
from app.sdjwt import core
from app.sdjwt.microcredential import (
    DEFAULT_SELECTABLE,
    DisclosurePolicy,
    PolicyError,
    claims,
    type_metadata,
)
from tests.factories import microcredential_body

NOW = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
ISSUER = KeyPair(bytes(range(32)))
HOLDER = KeyPair(bytes(range(1, 33)))
PROFILE = IssuerProfile(
    did="did:web:example.edu:issuers:uni",
    name={"en": "Example University", "de": "Beispieluniversität"},
    country="IRL",
    legal_identifier="IE1234567X",
)


def _mc(**overrides: object) -> MicroCredentialIn:
    body = microcredential_body("edc", **overrides)
    body["learner"] = {
        "id": "did:example:learner",
        "givenName": "Aoife",
        "familyName": "Byrne",
        "dateOfBirth": "2001-04-05",
    }
    body["grade"] = "A"
    return MicroCredentialIn.model_validate(body)


def _issue(selectable: frozenset[str] = DEFAULT_SELECTABLE) -> str:
    payload = claims(
        _mc(),
        PROFILE,
        vct="https://example.edu/vct/uni/microcredential",
        issued_at=NOW,
        holder_jwk=jws.public_jwk(HOLDER.public_key),
        status={"status_list": {"idx": 7, "uri": "https://example.edu/token-status-lists/x"}},
    )
    header = {"typ": "dc+sd-jwt", "kid": PROFILE.did + "#key-1"}
    return core.issue(header, payload, selectable, ISSUER, decoys=2)


def _present(sd_jwt: str, disclose: set[str], **kb: object) -> str:
    options: dict[str, object] = {"audience": "https://verifier", "nonce": "n-1", "issued_at": NOW}
    options.update(kb)
    return core.present(sd_jwt, disclose, holder_key=HOLDER, **options)  # type: ignore[arg-type]


def _verify(presentation: str, *, nonce: str = "n-1") -> dict[str, object]:
    parsed = core.parse(presentation)
    payload = core.check_issuer_signature(parsed, ISSUER.public_key)
    disclosed = core.disclosed_claims(payload, parsed.disclosures)
    holder = core.holder_key_of(disclosed)
    assert holder is not None
    policy = core.KeyBindingPolicy(audience="https://verifier", nonce=nonce, now=NOW)
    core.check_key_binding(parsed, holder, policy)
    return disclosed


def test_issued_sd_jwt_hides_learner_claims_behind_digests() -> None:
    sd_jwt = _issue()
    parsed = core.parse(sd_jwt)
    header, payload = core.unverified_issuer_part(parsed)
    assert header == {"alg": "EdDSA", "typ": "dc+sd-jwt", "kid": PROFILE.did + "#key-1"}
    for name in ("given_name", "family_name", "birthdate", "grade", "learner_id"):
        assert name not in payload
    for name in ("iss", "vct", "issuer_name", "title", "eqf_level", "workload", "cnf", "status"):
        assert name in payload
    assert payload["_sd_alg"] == "sha-256"
    # five learner claims + grade, and two decoys
    assert len(parsed.disclosures) == 5 and len(payload["_sd"]) == 7
    names = {core.Disclosure.decode(d).name for d in parsed.disclosures}
    assert names == {"given_name", "family_name", "birthdate", "learner_id", "grade"}


def test_presentation_shows_only_what_the_holder_chose() -> None:
    sd_jwt = _issue()
    everything = _verify(_present(sd_jwt, {"given_name", "family_name", "birthdate", "grade"}))
    assert everything["given_name"] == "Aoife" and everything["birthdate"] == "2001-04-05"
    assert "_sd" not in everything and "_sd_alg" not in everything
    minimal = _verify(_present(sd_jwt, set()))
    assert {"given_name", "family_name", "birthdate", "grade"}.isdisjoint(minimal)
    assert minimal["eqf_level"] == everything["eqf_level"]


def _swap_part(presentation: str, index: int, new: str) -> str:
    parts = presentation.split("~")
    parts[index] = new
    return "~".join(parts)


def test_a_changed_disclosure_is_refused() -> None:
    presentation = _present(_issue(), {"grade"})
    parsed = core.parse(presentation)
    salt, name, _ = json.loads(jws.b64url_decode(parsed.disclosures[0]))
    forged = jws.b64url_encode(jws.json_bytes([salt, name, "A+"]))
    # A forged disclosure with a fresh KB-JWT over it: the digest is nowhere in the SD-JWT.
    tampered = core.Parsed(parsed.issuer_jwt, (forged,), None).without_key_binding
    with pytest.raises(core.InvalidDisclosure):
        _verify(
            core.present(
                tampered,
                {"grade"},
                holder_key=HOLDER,
                audience="https://verifier",
                nonce="n-1",
                issued_at=NOW,
            )
        )


def test_a_repeated_disclosure_is_refused() -> None:
    parsed = core.parse(_present(_issue(), {"grade"}))
    doubled = core.Parsed(parsed.issuer_jwt, parsed.disclosures * 2, None).without_key_binding
    payload = core.check_issuer_signature(core.parse(doubled), ISSUER.public_key)
    with pytest.raises(core.InvalidDisclosure):
        core.disclosed_claims(payload, core.parse(doubled).disclosures)


def test_a_disclosure_added_after_key_binding_breaks_sd_hash() -> None:
    sd_jwt = _issue()
    presentation = _present(sd_jwt, set())
    extra = core.parse(sd_jwt).disclosures[0]
    issuer_jwt, kb = presentation.split("~")[0], presentation.split("~")[-1]
    with pytest.raises(core.InvalidKeyBinding, match="sd_hash"):
        _verify(f"{issuer_jwt}~{extra}~{kb}")


def test_issuer_signature_and_key_binding_are_checked() -> None:
    presentation = _present(_issue(), {"grade"})
    issuer_jwt = presentation.split("~")[0]
    header, payload, signature = issuer_jwt.split(".")
    claims_ = json.loads(jws.b64url_decode(payload))
    claims_["eqf_level"] = 8
    forged = ".".join([header, jws.b64url_encode(jws.json_bytes(claims_)), signature])
    with pytest.raises(core.InvalidIssuerSignature):
        _verify(_swap_part(presentation, 0, forged))
    with pytest.raises(core.InvalidKeyBinding, match="nonce"):
        _verify(presentation, nonce="other")
    with pytest.raises(core.InvalidKeyBinding, match="too old"):
        _verify(_present(_issue(), set(), issued_at=NOW - timedelta(hours=1)))
    with pytest.raises(core.InvalidKeyBinding, match="audience"):
        _verify(_present(_issue(), set(), audience="https://elsewhere"))
    kb = presentation.split("~")[-1]
    kb_header, kb_payload, kb_signature = kb.split(".")
    other = jws.sign({"typ": "kb+jwt"}, jws.b64url_decode(kb_payload), KeyPair.generate())
    with pytest.raises(core.InvalidKeyBinding, match="does not verify"):
        _verify(_swap_part(presentation, -1, other))
    with pytest.raises(core.InvalidKeyBinding, match="no key-binding"):
        _verify(core.present(_issue(), {"grade"}))


def test_malformed_inputs_are_named() -> None:
    for value in ("", "abc", "a.b.c~~", "x" * (core.MAX_PRESENTATION_LENGTH + 1)):
        with pytest.raises(core.SdJwtError):
            parsed = core.parse(value)
            core.unverified_issuer_part(parsed)
    with pytest.raises(core.InvalidDisclosure):
        core.Disclosure.decode(jws.b64url_encode(b'["salt", "_sd", 1]'))
    assert core.InvalidDisclosure.code == "SD_JWT_DISCLOSURE_INVALID"


def test_rfc9901_disclosure_digest_example() -> None:
    # RFC 9901 section 5.1: the disclosure of family_name "Möbius" and its digest.
    encoded = "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0"
    disclosure = core.Disclosure.decode(encoded)
    assert disclosure.name == "family_name" and disclosure.value == "Möbius"
    assert disclosure.digest == "X9yH0Ajrdm1Oij4tWso9UzzKJvPoDxwmuEcO3XAdRC0"


def test_policy_is_checked_and_reflected_in_type_metadata() -> None:
    with pytest.raises(PolicyError, match="title"):
        DisclosurePolicy.of(["title"])
    with pytest.raises(PolicyError, match="shoe_size"):
        DisclosurePolicy.of(["shoe_size"])
    policy = DisclosurePolicy.of(["grade", "given_name", "learning_outcomes"])
    metadata = type_metadata("https://x/vct/uni/microcredential", PROFILE.name, policy)
    sd = {c["path"][0]: c["sd"] for c in metadata["claims"]}
    assert sd["learning_outcomes"] == "allowed" and sd["family_name"] == "never"
    assert sd["title"] == "never" and sd["grade"] == "allowed"
    locales = {d["locale"] for d in metadata["display"]}
    assert {"en", "de", "fr", "ga", "mt"} <= locales and len(locales) == 24
    de = next(d for d in metadata["display"] if d["locale"] == "de")
    assert "Beispieluniversität" in de["description"]
