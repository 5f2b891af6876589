"""The MUSTs of the Verifiable Credentials Data Model 2.0, sections 4 and 5, as one set of rules
for both sides: the issuer refuses (422) a document that breaks one, the verifier reports each as
a ``MALFORMED_VALUE_ERROR`` (https://www.w3.org/TR/vc-data-model-2.0/).

Each rule is a function of the credential alone (and, for related resources, of the bytes of the
resources this service holds), giving :class:`Breach` es with a JSON Pointer into the credential
and the section they come from. The document is read in its one JSON reading (the form check of
:mod:`app.jsonld.form` runs first on both sides), so reading members by their terms is sound.

A VC 1.1 credential (first context ``https://www.w3.org/2018/credentials/v1``) is held to the
rules the two versions share (identifiers, types of the typed objects, schema ids); names and
descriptions, the validity period and related resources are VC 2.0 terms.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import base58

from app.crypto.dataintegrity import VC_V1_CONTEXT, VC_V2_CONTEXT
from app.datetimes import parse_datetime_stamp

SPEC = "https://www.w3.org/TR/vc-data-model-2.0/"
#: the raw bytes this service holds for a URL (its vendored contexts), or None
HeldBytes = Callable[[str], list[bytes] | None]

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")
#: characters a URL never holds unescaped (whitespace, controls, and RFC 3986's excluded ones)
_NOT_IN_URLS = re.compile(r'[\x00-\x20\x7f<>"{}|\\^`]')
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*")
_SRI = re.compile(r"(sha256|sha384|sha512)-([A-Za-z0-9+/]+={0,2})")
#: multihash codes of the digests Data Integrity names (https://www.w3.org/TR/vc-data-integrity/#multihash)
_MULTIHASH = {
    0x12: ("sha256", 32),
    0x20: ("sha384", 48),
    0x13: ("sha512", 64),
    0x16: ("sha3_256", 32),
    0x15: ("sha3_384", 48),
    0x14: ("sha3_512", 64),
}
#: the objects that MUST have a type (sections 4.10, 4.11, 5.4, 5.5, 5.6)
TYPED_OBJECTS = {
    "credentialStatus": "4.10 Status",
    "credentialSchema": "4.11 Data Schemas",
    "refreshService": "5.4 Refreshing",
    "termsOfUse": "5.5 Terms of Use",
    "evidence": "5.6 Evidence",
}


@dataclass(frozen=True)
class Breach:
    """A MUST the credential breaks: where (a JSON Pointer into it), why, and which section."""

    pointer: str
    detail: str
    section: str

    @property
    def reason(self) -> str:
        return f"{self.detail} (VC Data Model 2.0, {self.section})"


def is_url(value: Any) -> bool:
    """Whether ``value`` is an absolute URL (RFC 3986, non-ASCII IRIs allowed): a scheme, a
    colon, something after it and no character a URL cannot hold; an http(s) URL also needs a
    host (``"https ://x"``, ``"https:x"`` and ``"https://"`` are none)."""
    if not isinstance(value, str) or _NOT_IN_URLS.search(value):
        return False
    scheme, colon, rest = value.partition(":")
    if not colon or not rest or not _SCHEME.fullmatch(scheme):
        return False
    if scheme.lower() in ("http", "https"):
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 - raises on a port that is not a number
        except ValueError:
            return False
        return rest.startswith("//") and bool(parts.hostname)
    return True


def version_of(credential: Mapping[str, Any]) -> int | None:
    """2 or 1 by the first ``@context``, else None."""
    contexts = credential.get("@context")
    first = contexts[0] if isinstance(contexts, list) and contexts else contexts
    return {VC_V2_CONTEXT: 2, VC_V1_CONTEXT: 1}.get(first) if isinstance(first, str) else None


def data_model_breaches(
    credential: Mapping[str, Any], held: HeldBytes | None = None
) -> list[Breach]:
    """Every MUST of sections 4 and 5 that ``credential`` breaks; ``held`` gives the bytes of
    the resources this service holds, so that their digests are computed and compared."""
    version = version_of(credential)
    breaches = [
        *check_contexts(credential),
        *check_identifiers(credential),
        *check_issuer(credential),
        *check_subjects(credential),
        *check_typed_objects(credential),
        *check_schemas(credential),
    ]
    if version == 2:
        breaches += [
            *check_names_and_descriptions(credential),
            *check_validity_period(credential),
            *check_related_resources(credential, held),
        ]
    return breaches


def _items(value: Any, pointer: str) -> Iterator[tuple[Any, str]]:
    """The items of a value that may be one item or an array of them, with their pointers."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield item, f"{pointer}/{index}"
    else:
        yield value, pointer


def check_contexts(credential: Mapping[str, Any]) -> list[Breach]:
    """4.3 Contexts: ``@context`` is an ordered set whose first item is the VC 2.0 context URL
    (VC 1.1: its own), every other item a URL or a context object."""
    section = "4.3 Contexts"
    contexts = credential.get("@context")
    if not isinstance(contexts, list) or not contexts:
        return [Breach("/@context", "@context must be a non-empty array", section)]
    breaches = []
    if contexts[0] not in (VC_V2_CONTEXT, VC_V1_CONTEXT):
        breaches.append(
            Breach("/@context/0", f"the first @context must be {VC_V2_CONTEXT}", section)
        )
    for index, item in enumerate(contexts[1:], start=1):
        if not (is_url(item) or isinstance(item, Mapping)):
            breaches.append(
                Breach(
                    f"/@context/{index}",
                    "each further @context must be a URL or an object",
                    section,
                )
            )
    return breaches


def check_identifiers(credential: Mapping[str, Any]) -> list[Breach]:
    """4.4 Identifiers: an ``id`` (of the credential, a subject, a status entry, a schema, a
    related resource, terms of use, evidence, a refresh service) is one URL."""
    section = "4.4 Identifiers"
    breaches = []
    if "id" in credential and not is_url(credential["id"]):
        breaches.append(Breach("/id", "id must be a URL", section))
    for name in ("credentialSubject", *TYPED_OBJECTS, "relatedResource"):
        for item, pointer in _items(credential.get(name), f"/{name}"):
            if isinstance(item, Mapping) and "id" in item and not is_url(item["id"]):
                breaches.append(Breach(f"{pointer}/id", f"the id of {name} must be a URL", section))
    return breaches


def check_issuer(credential: Mapping[str, Any]) -> list[Breach]:
    """4.7 Issuer: a URL, or an object whose ``id`` is a URL."""
    section = "4.7 Issuer"
    issuer = credential.get("issuer")
    if isinstance(issuer, Mapping):
        if not is_url(issuer.get("id")):
            return [Breach("/issuer/id", "the issuer's id must be a URL", section)]
        return []
    if not is_url(issuer):
        return [Breach("/issuer", "issuer must be a URL or an object with an id", section)]
    return []


def check_subjects(credential: Mapping[str, Any]) -> list[Breach]:
    """4.8 Credential Subject: one or more objects, each with a claim."""
    subjects = credential.get("credentialSubject")
    items = subjects if isinstance(subjects, list) else [subjects]
    if not items or not all(isinstance(s, Mapping) and s for s in items):
        return [
            Breach(
                "/credentialSubject",
                "credentialSubject must be one or more non-empty objects",
                "4.8 Credential Subject",
            )
        ]
    return []


def _is_type(value: Any) -> bool:
    if isinstance(value, list):
        return bool(value) and all(isinstance(item, str) and item for item in value)
    return isinstance(value, str) and bool(value)


def check_typed_objects(credential: Mapping[str, Any]) -> list[Breach]:
    """4.10, 4.11, 5.4, 5.5, 5.6: each ``credentialStatus``, ``credentialSchema``,
    ``refreshService``, ``termsOfUse`` and ``evidence`` is an object with a ``type``."""
    breaches = []
    for name, section in TYPED_OBJECTS.items():
        if name not in credential:
            continue
        for item, pointer in _items(credential[name], f"/{name}"):
            if not isinstance(item, Mapping):
                breaches.append(Breach(pointer, f"each {name} must be an object", section))
            elif not _is_type(item.get("type")):
                breaches.append(Breach(f"{pointer}/type", f"each {name} must have a type", section))
    return breaches


def check_schemas(credential: Mapping[str, Any]) -> list[Breach]:
    """4.11 Data Schemas: each ``credentialSchema`` has an ``id`` (a URL)."""
    breaches = []
    for item, pointer in _items(credential.get("credentialSchema"), "/credentialSchema"):
        if isinstance(item, Mapping) and "id" not in item:
            breaches.append(
                Breach(
                    f"{pointer}/id",
                    "each credentialSchema must have an id (a URL)",
                    "4.11 Data Schemas",
                )
            )
    return breaches


def _is_language_value(value: Any) -> bool:
    if not isinstance(value, Mapping) or not isinstance(value.get("@value"), str):
        return False
    if not set(value) <= {"@value", "@language", "@direction"}:
        return False
    language = value.get("@language")
    if language is not None and not (
        isinstance(language, str) and _LANGUAGE_TAG.fullmatch(language)
    ):
        return False
    return value.get("@direction") in (None, "ltr", "rtl")


def _is_text(value: Any) -> bool:
    if isinstance(value, list):
        return bool(value) and all(_is_language_value(item) for item in value)
    return isinstance(value, str) or _is_language_value(value)


def check_names_and_descriptions(credential: Mapping[str, Any]) -> list[Breach]:
    """4.6 Names and Descriptions: ``name`` and ``description`` (of the credential and of its
    issuer) are a string or one or more language value objects."""
    section = "4.6 Names and Descriptions"
    breaches = []
    issuer = credential.get("issuer")
    for holder, prefix in ((credential, ""), (issuer, "/issuer")):
        if not isinstance(holder, Mapping):
            continue
        for name in ("name", "description"):
            if name in holder and not _is_text(holder[name]):
                breaches.append(
                    Breach(
                        f"{prefix}/{name}",
                        f"{name} must be a string or language value objects",
                        section,
                    )
                )
    return breaches


def check_validity_period(credential: Mapping[str, Any]) -> list[Breach]:
    """4.9 Validity Period: ``validFrom`` and ``validUntil`` are dateTimeStamps, the first not
    after the second."""
    section = "4.9 Validity Period"
    breaches = []
    moments = {}
    for name in ("validFrom", "validUntil"):
        if name in credential:
            moment = parse_datetime_stamp(credential[name])
            if moment is None:
                breaches.append(
                    Breach(f"/{name}", f"{name} must be an XML Schema dateTimeStamp", section)
                )
            else:
                moments[name] = moment
    if len(moments) == 2 and moments["validFrom"] > moments["validUntil"]:
        breaches.append(
            Breach("/validUntil", "validFrom must not be later than validUntil", section)
        )
    return breaches


def check_related_resources(
    credential: Mapping[str, Any], held: HeldBytes | None = None
) -> list[Breach]:
    """5.3 Integrity of Related Resources: one or more objects, each with a URL ``id`` of its
    own and a ``digestSRI`` or ``digestMultibase``; the digest of a resource this service holds
    byte for byte (a vendored context) must match it."""
    section = "5.3 Integrity of Related Resources"
    if "relatedResource" not in credential:
        return []
    value = credential["relatedResource"]
    if isinstance(value, list) and not value:
        return [
            Breach("/relatedResource", "relatedResource must hold one or more objects", section)
        ]
    breaches = []
    seen: set[str] = set()
    for item, pointer in _items(value, "/relatedResource"):
        if not isinstance(item, Mapping):
            breaches.append(Breach(pointer, "each relatedResource must be an object", section))
            continue
        resource_id = item.get("id")
        if "id" not in item:
            breaches.append(Breach(f"{pointer}/id", "each relatedResource needs an id", section))
        elif isinstance(resource_id, str):
            if resource_id in seen:
                breaches.append(
                    Breach(f"{pointer}/id", "the ids of relatedResource must be unique", section)
                )
            seen.add(resource_id)
        if "digestSRI" not in item and "digestMultibase" not in item:
            breaches.append(
                Breach(
                    pointer, "each relatedResource needs a digestSRI or a digestMultibase", section
                )
            )
            continue
        contents = held(resource_id) if held is not None and isinstance(resource_id, str) else None
        for name, check in (("digestSRI", _sri_matches), ("digestMultibase", _multibase_matches)):
            if name not in item:
                continue
            verdict = check(item[name], contents)
            if verdict is not None:
                breaches.append(Breach(f"{pointer}/{name}", verdict, section))
    return breaches


def _sri_matches(value: Any, contents: list[bytes] | None) -> str | None:
    """Why a ``digestSRI`` (https://www.w3.org/TR/SRI/) is malformed or does not match the held
    bytes, or None."""
    tokens = value.split() if isinstance(value, str) else []
    parsed = [_SRI.fullmatch(token) for token in tokens]
    if not tokens or not all(parsed):
        return "digestSRI must be sha256-, sha384- or sha512- and a base64 digest"
    if contents is None:
        return None
    for match in parsed:
        assert match is not None
        algorithm, encoded = match.groups()
        try:
            digest = base64.b64decode(encoded, validate=True)
        except ValueError:
            return "digestSRI is not valid base64"
        if any(hashlib.new(algorithm, data).digest() == digest for data in contents):
            return None
    return "digestSRI does not match the resource (its bytes are held by this service)"


def _multibase_matches(value: Any, contents: list[bytes] | None) -> str | None:
    """Why a ``digestMultibase`` (a multibase ``z``/``u`` multihash) is malformed or does not
    match the held bytes, or None."""
    raw = _multibase_decode(value)
    if raw is None or len(raw) < 2 or raw[0] not in _MULTIHASH:
        return "digestMultibase must be a multibase (z or u) multihash of a SHA-2 or SHA-3 digest"
    algorithm, size = _MULTIHASH[raw[0]]
    if raw[1] != size or len(raw) != 2 + size:
        return "digestMultibase has a digest of the wrong length"
    if contents is None:
        return None
    if any(hashlib.new(algorithm, data).digest() == raw[2:] for data in contents):
        return None
    return "digestMultibase does not match the resource (its bytes are held by this service)"


def _multibase_decode(value: Any) -> bytes | None:
    if not isinstance(value, str) or len(value) < 2:
        return None
    body = value[1:]
    try:
        if value[0] == "z":
            return bytes(base58.b58decode(body))
        if value[0] == "u" and re.fullmatch(r"[A-Za-z0-9_-]+", body):
            return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except ValueError:
        return None
    return None
