"""pyld's node map is quadratic in the values one property of one node collects: documents that
would make it so are refused before it is built (app/jsonld/nodemap.py)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from app.jsonld import JsonLdProcessingError, OxigraphCanonicalizer, PyldCanonicalizer
from app.jsonld.nodemap import check_node_map_cost

VALUE = "https://example.org/v"
REFUSED_WITHIN = 1.0  # a security bound, with margin (unguarded, 10,000 values took pyld 25 s)


def many_values(count: int, *, nodes: int = 1, inline_context: bool = True) -> dict[str, Any]:
    """A credential whose subject has ``count`` values of one property, spread over ``nodes``
    node objects sharing one id; an inline context sends it to pyld."""
    context: list[Any] = ["https://www.w3.org/ns/credentials/v2"]
    if inline_context:
        context.append({"v": VALUE})
    key = "v" if inline_context else VALUE
    subjects = [
        {"id": "did:example:subject", key: [f"value {n}.{i}" for i in range(count // nodes)]}
        for n in range(nodes)
    ]
    return {
        "@context": context,
        "type": ["VerifiableCredential"],
        "issuer": "did:example:issuer",
        "credentialSubject": subjects,
    }


@pytest.mark.parametrize("nodes", [1, 100])
def test_ten_thousand_values_of_one_property_are_refused_quickly_by_pyld(
    canonicalizer: PyldCanonicalizer, loader: Any, nodes: int
) -> None:
    document = many_values(10_000, nodes=nodes)
    for canonicalize in (canonicalizer.canonicalize, OxigraphCanonicalizer(loader).canonicalize):
        started = time.perf_counter()
        with pytest.raises(JsonLdProcessingError, match="10000 values of https://example.org/v"):
            canonicalize(document)
        assert time.perf_counter() - started < REFUSED_WITHIN


def test_pyoxigraph_takes_them_without_a_node_map(loader: Any) -> None:
    nquads = OxigraphCanonicalizer(loader).canonicalize_fast(
        many_values(10_000, inline_context=False)
    )
    assert nquads.count(f"<{VALUE}>") == 10_000


def test_a_few_hundred_values_are_canonicalized_alike(
    canonicalizer: PyldCanonicalizer, loader: Any
) -> None:
    document = many_values(300, nodes=3)
    expected = OxigraphCanonicalizer(loader).canonicalize(
        many_values(300, nodes=3, inline_context=False)
    )
    assert canonicalizer.canonicalize(document) == expected


def test_the_cost_counts_types_reverse_properties_and_merged_nodes() -> None:
    node = {"@id": "urn:x", "@type": ["urn:t1", "urn:t2"], "urn:p": [{"@value": 1}]}
    reverse = {"@id": "urn:y", "@reverse": {"urn:q": [{"@id": "urn:a"}, {"@id": "urn:b"}]}}
    check_node_map_cost([node, node, reverse], max_cost=4**2 + 2**2 + 2**2)
    with pytest.raises(JsonLdProcessingError, match="4 values of @type"):
        check_node_map_cost([node, node, reverse], max_cost=4**2 + 2**2 + 2**2 - 1)
