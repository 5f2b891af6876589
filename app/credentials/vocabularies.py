"""The EU controlled vocabularies (Europass / EU Vocabularies) behind an EU micro-credential.

The concept lists come from ``data/europass-vocabularies.json`` (an offline snapshot, see
``data/README.md``); the language and file-type concepts that snapshot lacks come from
``data/iso-codes.json`` and :data:`FILE_TYPES`. Everything is loaded once per process
(:func:`vocabularies`).

A value can be looked up in a scheme (:meth:`Vocabularies.concept`) by

* its concept URI, e.g. ``http://data.europa.eu/snb/eqf/6``;
* its notation, the last segment of the URI: ``"6"`` (EQF), ``"IRL"`` (country),
  ``"de4d165a6c"`` (assessment type), ``"ENG"`` (language);
* its short name, the English prefLabel in lower case with every run of characters other than
  letters and digits replaced by one hyphen: ``"level-6"``, ``"artefact-assessment"``,
  ``"blended"``, ``"non-formal-learning"``, ``"program-quality-assurance"``,
  ``"unsupervised-without-id-verification"``, ``"european-credit-transfer-system"``;
  a short name shared by two concepts of one scheme (a few ISCED-F fields) is not accepted;
* scheme-specific aliases: EQF levels as ``1`` … ``8``; languages by their ISO 639-1 code
  (``"en"``); countries by ISO 3166-1 alpha-2 (``"IE"``) as well as alpha-3 (``"IRL"``);
  ``"ects"`` and ``"ecvet"`` for the credit systems; ``"formal"`` and ``"non-formal"`` for the
  learning settings.

Look-ups are case-insensitive for notations, short names and aliases; URIs must match exactly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Literal, cast

from app.resources import CREDENTIALS_DATA_DIR

DATA_DIR = CREDENTIALS_DATA_DIR  # package data (app/resources.py)

SchemeKey = Literal[
    "eqf",
    "education-credit",
    "learning-assessment",
    "assessment",
    "learning-setting",
    "credential",
    "accreditation",
    "learning-opportunity",
    "learning-activity",
    "entitlement",
    "entitlement-status",
    "learning-schedule",
    "target-group",
    "encoding",
    "skill-reuse-level",
    "skill-type",
    "isced-f",
    "country",
    "supervision-verification",
    "verification",
    "verification-status",
    "evidence-type",
    "language",
    "file-type",
]

#: What each scheme holds, for error messages ("must be a concept of <description>").
SCHEME_DESCRIPTIONS: Mapping[SchemeKey, str] = MappingProxyType(
    {
        "eqf": "the EQF levels",
        "education-credit": "the credit systems",
        "learning-assessment": "the modes of learning and assessment",
        "assessment": "the assessment types",
        "learning-setting": "the learning settings",
        "credential": "the EDC credential profiles",
        "accreditation": "the accreditation / quality-assurance types",
        "learning-opportunity": "the learning opportunity types",
        "learning-activity": "the learning activity types",
        "entitlement": "the entitlement types",
        "entitlement-status": "the entitlement statuses",
        "learning-schedule": "the learning schedules",
        "target-group": "the target groups",
        "encoding": "the content encodings",
        "skill-reuse-level": "the skill reuse levels",
        "skill-type": "the skill types",
        "isced-f": "the ISCED-F 2013 fields of education",
        "country": "the EU country authority table",
        "supervision-verification": "the assessment supervision and identity verification types",
        "verification": "the EDC verification check types",
        "verification-status": "the EDC verification statuses",
        "evidence-type": "the evidence types",
        "language": "the languages this service accepts",
        "file-type": "the file types this service writes",
    }
)

LANGUAGE_SCHEME = "http://publications.europa.eu/resource/authority/language"
FILE_TYPE_SCHEME = "http://publications.europa.eu/resource/authority/file-type"
COUNTRY_SCHEME = "http://publications.europa.eu/resource/authority/country"

#: The two image types the display pages may use (EU file-type authority table).
FILE_TYPES: Mapping[str, str] = MappingProxyType({"PNG": "PNG", "JPEG": "JPEG"})

_SCHEME_ALIASES: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "education-credit": {"ects": "6fcec5c5af", "ecvet": "60b314e826"},
        "learning-setting": {"formal": "6fd4685715", "non-formal": "e207a81fc7"},
    }
)


class UnknownConceptError(ValueError):
    """A value that is not a concept of the expected scheme (the message names the scheme)."""


@dataclass(frozen=True)
class Concept:
    """One concept: its URI, its English prefLabel and the URI of its concept scheme."""

    id: str
    pref_label: str
    scheme: str

    @property
    def notation(self) -> str:
        return self.id.rstrip("/").rsplit("/", 1)[-1]


def short_name(label: str) -> str:
    """``"Program Quality Assurance"`` → ``"program-quality-assurance"``."""
    return re.sub(r"[^0-9a-z]+", "-", label.lower()).strip("-")


class Scheme:
    """The concepts of one scheme, indexed by URI, notation, short name and alias."""

    def __init__(
        self,
        key: SchemeKey,
        uri: str,
        concepts: list[Concept],
        aliases: Mapping[str, str] | None = None,
    ) -> None:
        self.key = key
        self.uri = uri
        self.concepts: tuple[Concept, ...] = tuple(concepts)
        self._by_id = {concept.id: concept for concept in concepts}
        names: dict[str, Concept] = {}
        ambiguous: set[str] = set()
        for concept in concepts:
            for name in {concept.notation.lower(), short_name(concept.pref_label)}:
                if name in names and names[name] is not concept:
                    ambiguous.add(name)
                names[name] = concept
        for name in ambiguous:
            del names[name]
        self._short_names = {
            concept.id: name
            for name, concept in names.items()
            if name == short_name(concept.pref_label) and name != concept.notation.lower()
        }
        by_notation = {concept.notation.lower(): concept for concept in concepts}
        self._aliases: dict[str, list[str]] = {}
        for alias, notation in (aliases or {}).items():
            concept = by_notation[notation.lower()]
            names[alias.lower()] = concept
            self._aliases.setdefault(concept.id, []).append(alias)
        self._by_name = names

    @property
    def description(self) -> str:
        return SCHEME_DESCRIPTIONS[self.key]

    def __iter__(self) -> Iterator[Concept]:
        return iter(self.concepts)

    def __contains__(self, uri: object) -> bool:
        return uri in self._by_id

    def short_name_of(self, concept: Concept) -> str | None:
        """The short name this scheme accepts for ``concept`` (None when two concepts share it,
        or when it is the notation itself)."""
        return self._short_names.get(concept.id)

    def aliases_of(self, concept: Concept) -> tuple[str, ...]:
        """The scheme-specific aliases of ``concept`` (``"ects"``, ``"en"``, ``"IE"``)."""
        return tuple(self._aliases.get(concept.id, ()))

    def get(self, value: str) -> Concept | None:
        """The concept named by ``value`` (URI, notation, short name or alias), or ``None``."""
        concept = self._by_id.get(value)
        if concept is None and "/" not in value:
            concept = self._by_name.get(value.strip().lower())
        return concept

    def lookup(self, value: str) -> Concept:
        """Like :meth:`get`, but raises :class:`UnknownConceptError` naming this scheme."""
        concept = self.get(value)
        if concept is None:
            raise UnknownConceptError(
                f"{value!r} is not a concept of {self.description} (scheme {self.uri}); "
                "give the concept URI or a documented short name"
            )
        return concept


def _scheme_key(uri: str) -> str:
    """``…/snb/eqf/25831c2`` → ``eqf``; ``…/authority/country`` → ``country``."""
    if uri.startswith("http://data.europa.eu/snb/"):
        return uri.split("/")[4]
    return uri.rstrip("/").rsplit("/", 1)[-1]


class Vocabularies:
    """All schemes; build it with :func:`vocabularies` (cached)."""

    def __init__(self, europass: Mapping[str, Any], iso_codes: Mapping[str, Any]) -> None:
        schemes: dict[str, Scheme] = {}
        for entry in europass["schemes"].values():
            uri = entry.get("conceptScheme")
            if not uri:
                continue  # the "other schemes referenced" list carries scheme URIs only
            key = _scheme_key(uri)
            if key not in SCHEME_DESCRIPTIONS:
                continue
            concepts = [Concept(c["id"], c["prefLabel_en"], uri) for c in entry["concepts"]]
            schemes[key] = Scheme(cast(SchemeKey, key), uri, concepts, _SCHEME_ALIASES.get(key))

        self.alpha2: Mapping[str, str] = MappingProxyType(dict(iso_codes["country_alpha2"]))
        country = schemes["country"]
        alpha2_aliases = {
            alpha2: alpha3
            for alpha3, alpha2 in self.alpha2.items()
            if alpha3 in _notations(country)
        }
        schemes["country"] = Scheme("country", country.uri, list(country.concepts), alpha2_aliases)

        languages = iso_codes["languages"]
        schemes["language"] = Scheme(
            "language",
            LANGUAGE_SCHEME,
            [
                Concept(f"{LANGUAGE_SCHEME}/{v['code']}", v["prefLabel_en"], LANGUAGE_SCHEME)
                for v in languages.values()
            ],
            {iso: v["code"] for iso, v in languages.items()},
        )
        self.language_codes: frozenset[str] = frozenset(languages)
        schemes["file-type"] = Scheme(
            "file-type",
            FILE_TYPE_SCHEME,
            [
                Concept(f"{FILE_TYPE_SCHEME}/{code}", label, FILE_TYPE_SCHEME)
                for code, label in FILE_TYPES.items()
            ],
        )
        missing = set(SCHEME_DESCRIPTIONS) - set(schemes)
        if missing:
            raise RuntimeError(f"vocabulary data lacks the schemes {sorted(missing)}")
        self._schemes: Mapping[str, Scheme] = MappingProxyType(schemes)
        self._all = {c.id: c for s in schemes.values() for c in s.concepts}

    def scheme(self, key: SchemeKey) -> Scheme:
        return self._schemes[key]

    def concept(self, key: SchemeKey, value: str) -> Concept:
        """The concept ``value`` names in scheme ``key``; :class:`UnknownConceptError` if none."""
        return self._schemes[key].lookup(value)

    def by_uri(self, uri: str) -> Concept | None:
        """The concept with this URI in any scheme, or ``None``."""
        return self._all.get(uri)

    def language(self, iso639_1: str) -> Concept:
        """The EU language concept for an ISO 639-1 code such as ``"en"``."""
        if iso639_1 not in self.language_codes:
            raise UnknownConceptError(
                f"{iso639_1!r} is not a language this service accepts "
                f"(ISO 639-1, one of {', '.join(sorted(self.language_codes))})"
            )
        return self._schemes["language"].lookup(iso639_1)

    def country_alpha2(self, alpha3: str) -> str | None:
        """ISO 3166-1 alpha-2 for an alpha-3 code of the EU country table, if it has one."""
        return self.alpha2.get(alpha3)


def _notations(scheme: Scheme) -> set[str]:
    return {concept.notation for concept in scheme}


@lru_cache(maxsize=1)
def vocabularies() -> Vocabularies:
    """The vocabularies, read from ``data/`` once per process."""
    europass = json.loads((DATA_DIR / "europass-vocabularies.json").read_text(encoding="utf-8"))
    iso_codes = json.loads((DATA_DIR / "iso-codes.json").read_text(encoding="utf-8"))
    return Vocabularies(europass, iso_codes)


def lookup(key: SchemeKey, value: str) -> Concept:
    """Shortcut for ``vocabularies().concept(key, value)``."""
    return vocabularies().concept(key, value)
