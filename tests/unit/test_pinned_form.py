"""The one JSON reading of a document (``app/jsonld/form.py``): each rule, with its pointer.

The vendored contexts are processed by pyld as the service does; two small contexts served by
the test loader below show what no vendored pair does (a term redefined, a cross-context alias).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from app.jsonld import OfflineDocumentLoader
from app.jsonld.form import MAX_DEPTH, NotPinnedForm, PinnedForm
from app.resources import CONTEXTS_DIR

VC2 = "https://www.w3.org/ns/credentials/v2"
VC1 = "https://www.w3.org/2018/credentials/v1"
EDC = "http://data.europa.eu/snb/model/context/edc-ap"
EXAMPLES = "https://www.w3.org/ns/credentials/examples/v2"
CRED = "https://www.w3.org/2018/credentials#"
FIRST = "https://contexts.test/first"
SECOND = "https://contexts.test/second"
TEST_CONTEXTS = {
    FIRST: {"@context": {"ex": "https://ex.test/", "colour": "ex:colour", "size": "ex:size"}},
    SECOND: {"@context": {"colour": "https://other.test/colour", "measure": "ex:size"}},
}


class _Loader:
    def __init__(self) -> None:
        self.offline = OfflineDocumentLoader(CONTEXTS_DIR)

    def __call__(self, url: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
        if url in TEST_CONTEXTS:
            return {"contextUrl": None, "documentUrl": url, "document": TEST_CONTEXTS[url]}
        return self.offline(url, options)


@pytest.fixture(scope="module")
def form() -> PinnedForm:
    return PinnedForm(_Loader())


def credential(**members: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "@context": [VC2, EXAMPLES],
        "id": "urn:uuid:0f4a",
        "type": ["VerifiableCredential"],
        "issuer": "did:example:issuer",
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:learner", "name": "Aoife"},
    }
    document.update(members)
    return document


def refusal(form: PinnedForm, document: dict[str, Any]) -> NotPinnedForm:
    with pytest.raises(NotPinnedForm) as caught:
        form.check(document)
    return caught.value


def test_a_credential_in_its_compact_form_is_taken(form: PinnedForm) -> None:
    form.check(credential())
    form.check(credential(name={"@value": "Alumni", "@language": "en"}))
    form.check(credential(undefinedButVocab="read against the examples @vocab"))


def test_an_inline_context_is_refused_where_it_stands(form: PinnedForm) -> None:
    error = refusal(form, credential(**{"@context": [VC2, {"st": CRED + "credentialStatus"}]}))
    assert error.pointer == "/@context/1"
    nested = credential()
    nested["credentialSubject"]["@context"] = {"name": "https://schema.test/familyName"}
    assert refusal(form, nested).pointer == "/credentialSubject/@context/0"


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        (CRED + "credentialStatus", "is an IRI"),
        ("cred:credentialStatus", "is an IRI"),
        ("@id", "the keyword @id"),
        ("@graph", "the keyword @graph"),
        ("@included", "the keyword @included"),
    ],
)
def test_a_member_that_is_not_a_term_is_refused(form: PinnedForm, key: str, reason: str) -> None:
    error = refusal(form, credential(**{key: {"id": "urn:x"}}))
    assert reason in error.reason
    assert error.pointer == "/" + key.replace("/", "~1")


def test_an_undefined_term_without_a_vocab_is_refused(form: PinnedForm) -> None:
    document = credential(**{"@context": [VC2], "unsignedClaim": "x"})
    assert "not defined" in refusal(form, document).reason


def test_a_context_that_gives_a_term_another_iri_is_refused(form: PinnedForm) -> None:
    document = {"@context": [FIRST, SECOND], "colour": "red"}
    error = refusal(form, document)
    assert error.pointer == "/@context" and "'colour'" in error.reason
    form.check({"@context": [FIRST], "colour": "red", "size": "L"})


def test_an_alias_from_another_context_is_refused(form: PinnedForm) -> None:
    """``measure`` (second) names the IRI of ``size`` (first): one of two spellings."""
    contexts = {**TEST_CONTEXTS, SECOND: {"@context": {"measure": "https://ex.test/size"}}}
    loader = _Loader()

    def load(url: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
        if url in contexts:
            return {"contextUrl": None, "documentUrl": url, "document": contexts[url]}
        return loader(url, options)

    aliasing = PinnedForm(load)
    error = refusal(aliasing, {"@context": [FIRST, SECOND], "measure": "L"})
    assert "alias of size" in error.reason and error.pointer == "/measure"


def test_types_and_identifiers_are_written_as_terms_and_full_iris(form: PinnedForm) -> None:
    as_iri = credential(type=["VerifiableCredential", CRED + "VerifiableCredential"])
    assert refusal(form, as_iri).pointer == "/type/1"
    compact = {"@context": [VC2, FIRST], "colour": "red", "size": "L", "id": "ex:thing"}
    error = refusal(form, compact)
    assert error.pointer == "/id" and "compact IRI" in error.reason
    form.check({"@context": [VC2, FIRST], "id": "https://ex.test/thing", "colour": "red"})


def test_only_language_tagged_strings_are_value_objects(form: PinnedForm) -> None:
    typed = credential(
        validFrom={"@value": "2026-01-01T00:00:00Z", "@type": "xsd:dateTime"},
    )
    assert refusal(form, typed).pointer == "/validFrom"
    bare = credential(name={"@value": "Alumni"})
    assert refusal(form, bare).pointer == "/name"


def test_a_language_map_has_tags_not_terms(form: PinnedForm) -> None:
    document = {
        "@context": [VC1, EDC],
        "id": "urn:uuid:1",
        "type": ["VerifiableCredential", "EuropeanDigitalCredential"],
        "credentialSubject": {"id": "urn:uuid:2", "givenName": {"en": "Aoife", "ga": "Aoife"}},
    }
    form.check(document)


def test_credentials_of_a_vc2_presentation_are_read_under_their_own_contexts(
    form: PinnedForm,
) -> None:
    """VC 2.0's ``verifiableCredential`` resets the context: an EDC (VC 1.1 envelope, whose
    ``description`` is not VC 2.0's) sits inside a VC 2.0 presentation."""
    edc = {
        "@context": [VC1, EDC],
        "id": "urn:uuid:1",
        "type": ["VerifiableCredential", "EuropeanDigitalCredential"],
        "description": {"en": "an EDC"},
    }
    presentation = {
        "@context": [VC2],
        "type": ["VerifiablePresentation"],
        "verifiableCredential": [edc],
    }
    form.check(presentation)
    edc["credentialSubject"] = {CRED + "credentialStatus": "urn:x"}
    error = refusal(form, presentation)
    assert error.pointer == "/verifiableCredential/0/credentialSubject/" + (
        CRED + "credentialStatus"
    ).replace("/", "~1")


def test_nesting_is_bounded(form: PinnedForm) -> None:
    document = credential()
    node = document["credentialSubject"]
    for _ in range(MAX_DEPTH + 2):
        node["alumniOf"] = {"id": "urn:x"}
        node = node["alumniOf"]
    assert "nested deeper" in refusal(form, document).reason
