"""DCQL (OpenID4VP 1.0 section 6): the query a presentation request carries, and whether what a
wallet presented satisfies it.

A request names one Credential Query (``ldp_vc`` or ``dc+sd-jwt``): the verifier must find the
presentation for it under its ``id`` in the ``vp_token``. Beside the query the service keeps its
own constraints on a micro-credential (course title, issuer DID, EQF level), which DCQL has no
portable way to say across the two formats; they are checked on the credential as verified.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

LDP_VC, SD_JWT = "ldp_vc", "dc+sd-jwt"
FORMATS = (LDP_VC, SD_JWT)
QUERY_ID = "microcredential"
#: The ``type`` values of the micro-credentials issued here (EDC and Open Badges 3.0).
LDP_TYPES = [
    ["VerifiableCredential", "EuropeanDigitalCredential"],
    ["VerifiableCredential", "OpenBadgeCredential"],
]
EQF = "http://data.europa.eu/snb/eqf/"
MAX_PATH = 16


class DcqlError(ValueError):
    """A query this service cannot use (it supports a subset of DCQL)."""


def build(
    format: str,
    *,
    vct_values: Sequence[str],
    claims: Sequence[Sequence[str | int | None]] | None,
    eqf_level: int | None,
) -> dict[str, Any]:
    """The DCQL query for one micro-credential of ``format``."""
    query: dict[str, Any] = {"id": QUERY_ID, "format": format}
    if format == LDP_VC:
        query["meta"] = {"type_values": LDP_TYPES}
    else:
        query["meta"] = {"vct_values": list(vct_values)} if vct_values else {}
    wanted = [{"path": list(path)} for path in claims or ()]
    if format == SD_JWT and eqf_level is not None:
        wanted.append({"path": ["eqf_level"], "values": [eqf_level]})
    if wanted:
        query["claims"] = [{"id": f"c{i}", **claim} for i, claim in enumerate(wanted)]
    return {"credentials": [query]}


def check_query(query: Any) -> dict[str, Any]:
    """The one Credential Query of ``query``, if this service can use it; :class:`DcqlError`
    otherwise."""
    if not isinstance(query, Mapping):
        raise DcqlError("dcql_query is not an object")
    credentials = query.get("credentials")
    if not isinstance(credentials, list) or len(credentials) != 1:
        raise DcqlError("dcql_query must have exactly one Credential Query in credentials")
    if "credential_sets" in query:
        raise DcqlError("credential_sets are not supported (one Credential Query)")
    item = credentials[0]
    if not isinstance(item, Mapping) or not isinstance(item.get("id"), str) or not item["id"]:
        raise DcqlError("the Credential Query needs an id")
    if item.get("format") not in FORMATS:
        raise DcqlError(f"format must be one of {', '.join(FORMATS)}")
    if item.get("multiple") is True:
        raise DcqlError("multiple presentations for a query are not supported")
    meta = item.get("meta")
    if not isinstance(meta, Mapping):
        raise DcqlError("the Credential Query needs meta")
    key = "type_values" if item["format"] == LDP_VC else "vct_values"
    values = meta.get(key)
    if values is not None and (
        not isinstance(values, list) or not all(_is_value_list(v, item["format"]) for v in values)
    ):
        raise DcqlError(f"meta.{key} is not a list of the right values")
    claims = item.get("claims", [])
    if not isinstance(claims, list):
        raise DcqlError("claims must be an array")
    for claim in claims:
        if not isinstance(claim, Mapping) or not _is_path(claim.get("path")):
            raise DcqlError("each claim needs a path (strings, integers, null)")
        if "values" in claim and not isinstance(claim["values"], list):
            raise DcqlError("a claim's values must be an array")
    sets = item.get("claim_sets")
    if sets is not None:
        ids = {c.get("id") for c in claims}
        if not isinstance(sets, list) or not all(
            isinstance(s, list) and s and all(i in ids for i in s) for s in sets
        ):
            raise DcqlError("claim_sets must list arrays of claim ids")
    return dict(item)


def _is_value_list(value: Any, format: str) -> bool:
    if format == LDP_VC:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    return isinstance(value, str)


def _is_path(path: Any) -> bool:
    return (
        isinstance(path, list)
        and 0 < len(path) <= MAX_PATH
        and all(p is None or isinstance(p, str | int) and not isinstance(p, bool) for p in path)
    )


def select(document: Any, path: Sequence[str | int | None]) -> list[Any]:
    """The values ``path`` points to (DCQL claims path pointer, section 7)."""
    found = [document]
    for step in path:
        following: list[Any] = []
        for node in found:
            if step is None and isinstance(node, list):
                following.extend(node)
            elif isinstance(step, int) and isinstance(node, list) and 0 <= step < len(node):
                following.append(node[step])
            elif isinstance(step, str) and isinstance(node, Mapping) and step in node:
                following.append(node[step])
        found = following
    return found


def mismatches(
    query: Mapping[str, Any],
    constraints: Mapping[str, Any],
    *,
    format: str,
    credential: Mapping[str, Any],
) -> list[str]:
    """Why the verified ``credential`` (a JSON-LD credential, or an SD-JWT VC's disclosed
    claims) does not satisfy ``query`` and the service's ``constraints``; empty if it does."""
    reasons: list[str] = []
    if format != query.get("format"):
        return [f"a {format} credential was presented; {query.get('format')} was asked for"]
    meta = query.get("meta") or {}
    if format == LDP_VC:
        types = set(_strings(credential.get("type")))
        wanted = meta.get("type_values")
        if wanted and not any(set(option) <= types for option in wanted):
            reasons.append("its type is not one the query asked for")
        issuer = credential.get("issuer")
        issuer_id = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    else:
        wanted = meta.get("vct_values")
        if wanted and credential.get("vct") not in wanted:
            reasons.append(f"its vct {credential.get('vct')!r} is not one the query asked for")
        issuer_id = credential.get("iss")
    satisfied = {}
    for claim in query.get("claims") or []:
        values = select(credential, claim["path"])
        if "values" in claim:
            ok = any(v in claim["values"] for v in values)
        else:
            ok = bool(values)
        satisfied[claim.get("id")] = ok
    sets = query.get("claim_sets")
    if sets:
        if not any(all(satisfied.get(i) for i in option) for option in sets):
            reasons.append("none of the query's sets of claims was presented")
    else:
        missing = [
            "/".join(str(p) for p in claim["path"])
            for claim in query.get("claims") or []
            if not satisfied.get(claim.get("id"))
        ]
        if missing:
            reasons.append("claims missing or not as asked: " + ", ".join(missing))
    wanted_issuers = constraints.get("issuer")
    if isinstance(wanted_issuers, str):
        wanted_issuers = [wanted_issuers]
    if wanted_issuers and issuer_id not in wanted_issuers:
        named = " or ".join(repr(i) for i in wanted_issuers)
        reasons.append(f"it was issued by {issuer_id!r}, not {named}")
    course = constraints.get("course")
    if course and _fold(course) not in {_fold(t) for t in _titles(credential)}:
        reasons.append(f"it is not for the course {course!r}")
    level = constraints.get("eqfLevel")
    if level is not None and level not in _levels(credential):
        reasons.append(f"it is not at EQF level {level}")
    return reasons


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


def _walk(node: Any, depth: int = 0) -> Iterable[tuple[str, Any]]:
    if depth > 32:
        return
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield key, value
            yield from _walk(value, depth + 1)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value, depth + 1)


def _titles(credential: Mapping[str, Any]) -> set[str]:
    """Every title or name in the credential: EDC ``title`` language maps, Open Badges
    ``achievement.name``, the SD-JWT VC's ``title``."""
    found: set[str] = set()
    for key, value in _walk(credential):
        if key in ("title", "name"):
            if isinstance(value, str):
                found.add(value)
            elif isinstance(value, Mapping):
                found.update(v for v in value.values() if isinstance(v, str))
    return found


def _levels(credential: Mapping[str, Any]) -> set[int]:
    """EQF levels the credential states: an SD-JWT VC's ``eqf_level``, or the EQF concept URI
    (``http://data.europa.eu/snb/eqf/6``) anywhere in a JSON-LD credential."""
    levels: set[int] = set()
    direct = credential.get("eqf_level")
    if isinstance(direct, int) and not isinstance(direct, bool):
        levels.add(direct)
    for _, value in _walk(credential):
        if isinstance(value, str) and value.startswith(EQF) and value[len(EQF) :].isdigit():
            levels.add(int(value[len(EQF) :]))
    return levels
