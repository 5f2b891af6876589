"""The VC Data Model 2.0 rules (app/credentials/datamodel.py) on their own: URLs are parsed, not
looked at for a colon (4.4), and related resources' digests are read and computed (5.3)."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import base58
import pytest

from app.credentials.datamodel import check_related_resources, data_model_breaches, is_url
from app.jsonld import OfflineDocumentLoader

EXAMPLES = "https://www.w3.org/ns/credentials/examples/v2"


@pytest.mark.parametrize(
    "value",
    [
        "https://example.edu/credentials/3732",
        "http://127.0.0.1:8000/status-lists/1#42",
        "did:example:ebfeb1f712ebc6f1c276e12ec21",
        "did:web:credentials.example.edu%3A8443:issuers:zed",
        "urn:uuid:3978344f-8596-4c3a-a978-8fcaba3903c5",
        "https://例え.jp/資格",
    ],
)
def test_urls_are_urls(value: str) -> None:
    assert is_url(value)


@pytest.mark.parametrize(
    "value",
    [
        "https ://not-a-url/x",  # the colon alone made it pass before
        "https:not-a-host",
        "https://",
        "https://example.edu:port/x",
        "https://example.edu/a b",
        "no-scheme",
        ":no-scheme",
        "1http://example.edu",
        "_:b0",
        "did:",
        42,
        None,
    ],
)
def test_4_4_what_is_no_url(value: object) -> None:
    assert not is_url(value)


@pytest.fixture(scope="module")
def loader(contexts_dir: Path) -> OfflineDocumentLoader:
    return OfflineDocumentLoader(contexts_dir)


def test_5_3_digests_of_a_held_context_are_computed(loader: OfflineDocumentLoader) -> None:
    [held] = loader.contents(EXAMPLES) or []
    sha384 = "sha384-" + base64.b64encode(hashlib.sha384(held).digest()).decode()
    sha256 = hashlib.sha256(held).digest()
    digests = [
        {"digestSRI": sha384},
        {"digestSRI": "sha256-" + base64.b64encode(sha256).decode() + " " + sha384},
        {"digestMultibase": "z" + base58.b58encode(b"\x12\x20" + sha256).decode()},
        {
            "digestMultibase": "u"
            + base64.urlsafe_b64encode(b"\x12\x20" + sha256).decode().rstrip("=")
        },
    ]
    for digest in digests:
        credential = {"relatedResource": [{"id": EXAMPLES, **digest}]}
        assert check_related_resources(credential, loader.contents) == [], digest
    wrong = {"relatedResource": [{"id": EXAMPLES, "digestSRI": "sha384-" + "A" * 64}]}
    [breach] = check_related_resources(wrong, loader.contents)
    assert breach.pointer == "/relatedResource/0/digestSRI"
    assert breach.section == "5.3 Integrity of Related Resources"
    # not held: only the form of the digest is checked
    assert check_related_resources(wrong, lambda url: None) == []


def test_a_vc_1_1_credential_is_held_to_the_shared_rules_only() -> None:
    credential = {
        "@context": ["https://www.w3.org/2018/credentials/v1"],
        "type": ["VerifiableCredential"],
        "issuer": "did:example:issuer",
        "issuanceDate": "2026-01-01T00:00:00Z",
        "name": 42,  # a VC 2.0 term: not checked in 1.1
        "credentialSubject": {"id": "https ://no"},
    }
    assert [b.pointer for b in data_model_breaches(credential)] == ["/credentialSubject/id"]
