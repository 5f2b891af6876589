"""A verification result and a credential as a person reads them: each check in plain words
(signature, issuer, status, validity, EU completeness) and the credential's title, learner,
issuer and date."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.services.verification.results import Verification
from app.services.verification.trust import OWN_LIST

#: The checks shown, in order: (message key, the results' key, path inside it).
_CHECKS = (
    ("check_signature", ("proof",)),
    ("check_issuer", ("proof", "issuer")),
    ("check_status", ("credentialStatus",)),
    ("check_validity", ("validFrom", "validUntil")),
    ("check_eu", ("euMicroCredential",)),
)


@dataclass(frozen=True)
class Check:
    key: str
    """The message key of the check's name."""
    state: str
    """``ok``, ``failed``, ``not_applicable`` or (EU completeness, a warning) ``incomplete``."""


def checks(result: Verification) -> list[Check]:
    """Each check's outcome from the verifier's results (None there: it did not apply)."""
    shown = []
    for key, path in _CHECKS:
        if key == "check_validity":
            outcomes = [_verified(result.results.get(name)) for name in path]
        elif key == "check_issuer":
            proof = result.results.get("proof")
            issuer = proof.get("issuer") if isinstance(proof, Mapping) else None
            matches = issuer.get("matches") if isinstance(issuer, Mapping) else None
            outcomes = [matches if isinstance(matches, bool) else None]
        elif key == "check_eu":
            eu = result.results.get("euMicroCredential")
            complete = eu.get("complete") if isinstance(eu, Mapping) else None
            if isinstance(eu, Mapping) and eu.get("profile") and complete is False:
                shown.append(Check(key, "incomplete"))  # a warning: the verdict may still hold
                continue
            outcomes = [complete if isinstance(eu, Mapping) and eu.get("profile") else None]
        else:
            outcomes = [_verified(result.results.get(path[0]))]
        if result.results == {} and not result.verified:
            outcomes = [False]
        if any(outcome is False for outcome in outcomes):
            state = "failed"
        elif any(outcome is True for outcome in outcomes):
            state = "ok"
        else:
            state = "not_applicable"
        shown.append(Check(key, state))
    return shown


def _verified(result: Any) -> bool | None:
    if isinstance(result, Mapping):
        value = result.get("verified")
        return value if isinstance(value, bool) else None
    return None


@dataclass(frozen=True)
class Summary:
    title: str | None
    learner: str | None
    issuer: str | None
    issued: str | None


def summary(credential: Mapping[str, Any], language: str) -> Summary:
    """Title, learner, issuer and date of an EDC, an Open Badge or a plain VC, in ``language``
    where the credential has it."""
    subject = _first(credential.get("credentialSubject"))
    claim = _first(subject.get("hasClaim"))
    achievement = _first(subject.get("achievement"))
    title = text_in(claim.get("title"), language) or text_in(achievement.get("name"), language)
    learner = (
        text_in(subject.get("fullName"), language)
        or text_in(subject.get("name"), language)
        or " ".join(
            part
            for part in (
                text_in(subject.get("givenName"), language),
                text_in(subject.get("familyName"), language),
            )
            if part
        )
        or None
    )
    issuer = credential.get("issuer")
    issuer_name = None
    if isinstance(issuer, Mapping):
        issuer_name = text_in(issuer.get("legalName"), language) or text_in(
            issuer.get("name"), language
        )
        issuer_name = issuer_name or text_in(issuer.get("id"), language)
    elif isinstance(issuer, str):
        issuer_name = issuer
    issued = None
    for name in ("issued", "validFrom", "issuanceDate"):
        value = credential.get(name)
        if isinstance(value, str):
            issued = value[:10]
            break
    return Summary(title, learner, issuer_name, issued)


def _first(value: Any) -> Mapping[str, Any]:
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, Mapping) else {}


def text_in(value: Any, language: str) -> str | None:
    """A string, or the ``language`` entry of a language map (else English, else the first)."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, Mapping):
        if "@value" in value:
            return text_in(value["@value"], language)
        for key in (language, "en"):
            if isinstance(value.get(key), str):
                return text_in(value[key], language)
        for entry in value.values():
            if isinstance(entry, str):
                return entry.strip() or None
    return None


#: The EU vocabulary's language codes (ISO 639-2/B) of the pages' languages, as EDC pages name them.
_EU_LANGUAGE = {"en": "ENG", "fr": "FRA", "de": "DEU", "ro": "RON"}


def page_image(credential: Mapping[str, Any], language: str) -> str | None:
    """The base64 PNG of the EDC's certificate page in ``language``, else its first page."""
    display = credential.get("displayParameter")
    if not isinstance(display, Mapping):
        return None
    pages = display.get("individualDisplay")
    images: list[tuple[str, str]] = []
    for page in pages if isinstance(pages, list) else []:
        if not isinstance(page, Mapping):
            continue
        language_id = _first(page.get("language")).get("id")
        detail = _first(page.get("displayDetail"))
        image = _first(detail.get("image")).get("content")
        if isinstance(image, str):
            images.append((language_id if isinstance(language_id, str) else "", image))
    wanted = _EU_LANGUAGE.get(language, "ENG")
    for language_id, image in images:
        if language_id.endswith("/" + wanted):
            return image
    return images[0][1] if images else None


@dataclass(frozen=True)
class Trust:
    """Who vouches for the issuer, as the verdict's ``results.issuerTrust`` says."""

    trusted: bool
    source: str | None
    """The first source that vouches (a registry's or this service's list's name)."""
    legal_name: str | None
    """The legal name that source registered (never the credential's own words)."""
    unknown: bool
    """Some source could not be asked: "no one vouches" may change when it answers."""
    own_list: bool = False
    """The source is this service's own trust list (named in words on the page)."""


def trust(result: Verification) -> Trust | None:
    """The verdict's issuer trust; None when it was not checked (no proof got that far)."""
    found = result.results.get("issuerTrust")
    if not isinstance(found, Mapping):
        return None
    sources = found.get("sources")
    first = sources[0] if isinstance(sources, list) and sources else {}
    name = first.get("name") if isinstance(first, Mapping) else None
    legal_name = found.get("legalName")
    return Trust(
        trusted=found.get("trusted") is True,
        source=name if isinstance(name, str) else None,
        legal_name=legal_name if isinstance(legal_name, str) else None,
        unknown=bool(found.get("unknown")),
        own_list=name == OWN_LIST,
    )


@dataclass(frozen=True)
class Reason:
    """An error or warning of the verdict in plain words: ``key`` is the message's key in the
    page's catalogue (``reason_other`` when the catalogue has none), ``detail`` the verifier's
    own (English) words, shown below it."""

    key: str
    severity: str
    detail: str


def reasons(result: Verification, catalogue: Mapping[str, str]) -> list[Reason]:
    """Each error and warning, named by its problem type (the part after ``#`` or the last
    ``:``), e.g. ``…#CREDENTIAL_REVOKED`` → ``reason_credential_revoked``."""
    shown = []
    for severity, problems in (("error", result.errors), ("warning", result.warnings)):
        for problem in problems:
            name = problem.type.rsplit("#", 1)[-1].rsplit(":", 1)[-1].lower()
            key = f"reason_{name}"
            shown.append(
                Reason(key if key in catalogue else "reason_other", severity, problem.detail or "")
            )
    return shown
