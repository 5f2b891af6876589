"""The RDFC-1.0 work limit (app/jsonld/poison.py): its labels are pyoxigraph's, poison graphs are
refused quickly on every canonicalization path, and credentials are not."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pyoxigraph
import pytest

from app.crypto.dataintegrity import DataIntegrity
from app.crypto.keys import KeyPair
from app.did.key import did_key_from_public_key, did_key_verification_method_id
from app.jsonld import (
    OfflineDocumentLoader,
    OxigraphCanonicalizer,
    PoisonGraphError,
    PyldCanonicalizer,
)
from app.jsonld.oxigraph import FastPathDeclined
from app.jsonld.poison import (
    WORK_PER_QUAD,
    Quad,
    canonical_nquads,
    check_work,
    oxigraph_quads,
)
from tests.factories import clique_credential, clique_nquads, vc2_credential

#: a security bound, with margin: refusing is meant to take some tens of milliseconds
REFUSED_WITHIN = 1.0
P, Q = "<http://example.org/p>", "<http://example.org/q>"


def parse(nquads: str) -> pyoxigraph.Dataset:
    return pyoxigraph.Dataset(pyoxigraph.parse(nquads, format=pyoxigraph.RdfFormat.N_QUADS))


def quads(nquads: str) -> list[Quad]:
    return list(oxigraph_quads(parse(nquads)))


def oxigraph_canonical(nquads: str) -> str:
    """pyoxigraph's canonical N-Quads, only the lines naming a blank node (the guard's input)."""
    dataset = parse(nquads)
    dataset.canonicalize(pyoxigraph.CanonicalizationAlgorithm.RDFC_1_0)
    lines = str(dataset).split("\n")
    lines.pop()
    return "".join(sorted(line + "\n" for line in lines if "_:" in line))


def edges(pairs: list[tuple[int, int]], predicate: str = P, graph: str = "") -> str:
    return "".join(f"_:n{a} {predicate} _:n{b} {graph} .\n".replace("  ", " ") for a, b in pairs)


def cycle(size: int) -> list[tuple[int, int]]:
    return [(i, (i + 1) % size) for i in range(size)]


#: symmetric graphs (blank nodes sharing first-degree hashes) that are cheap enough to accept
SYMMETRIC = {
    "triangle": edges(cycle(3)),
    "cycle of 12": edges(cycle(12)),
    "double circle of 3": edges(cycle(3)) + edges([(b, a) for a, b in cycle(3)], Q),
    "two triangles": edges(cycle(3)) + edges([(a + 3, b + 3) for a, b in cycle(3)]),
    "clique of 4": clique_nquads(4),
    "diamond": edges([(0, 1), (0, 2), (1, 3), (2, 3)]),
    "twins": '_:a <http://example.org/p> "x" .\n_:b <http://example.org/p> "x" .\n',
    "graphs": edges(cycle(3), graph="_:g1") + edges(cycle(3), graph="_:g2"),
    "self loops": edges([(0, 0), (1, 1), (0, 1), (1, 0)]),
}


def random_graph(rng: random.Random) -> str:
    nodes = rng.randint(1, 7)
    objects = ['"x"', '"y"@en', '"1"^^<http://www.w3.org/2001/XMLSchema#integer>', "<urn:o>"]
    lines = set()
    for _ in range(rng.randint(1, 18)):
        subject = f"_:b{rng.randrange(nodes)}" if rng.random() < 0.9 else "<urn:s>"
        obj = f"_:b{rng.randrange(nodes)}" if rng.random() < 0.7 else rng.choice(objects)
        graph = rng.choice(["", "", "", f"_:b{rng.randrange(nodes)}", "<urn:g>"])
        lines.add(f"{subject} {rng.choice([P, Q])} {obj} {graph}".rstrip() + " .\n")
    return "".join(lines)


@pytest.mark.parametrize("name", SYMMETRIC)
def test_symmetric_graphs_get_pyoxigraphs_labels_within_the_default_limit(name: str) -> None:
    assert canonical_nquads(quads(SYMMETRIC[name])) == oxigraph_canonical(SYMMETRIC[name])


def test_random_graphs_get_pyoxigraphs_labels() -> None:
    rng = random.Random(20261202)
    graphs = [random_graph(rng) for _ in range(400)]
    for graph in graphs:
        mine = canonical_nquads(quads(graph), max_work=10**7, time_budget=60.0)
        assert mine == oxigraph_canonical(graph), graph


@pytest.mark.parametrize("size", range(6, 13))
def test_cliques_of_blank_nodes_are_refused_quickly(size: int) -> None:
    clique = quads(clique_nquads(size))
    started = time.perf_counter()
    with pytest.raises(PoisonGraphError, match="too symmetric"):
        check_work(clique)
    assert time.perf_counter() - started < REFUSED_WITHIN


#: other poison families: symmetric enough that RDFC-1.0 needs seconds to hours
POISON = {
    "complete bipartite 6x6": edges([(a, b) for a in range(6) for b in range(6, 12)]),
    "hypercube of 16": edges([(i, i ^ (1 << bit)) for i in range(16) for bit in range(4)]),
    "cycle of 500": edges(cycle(500)),
    "clique of 8 as graph names": clique_nquads(8).replace(" .\n", " _:g .\n")
    + "".join(f'_:g <{P[1:-1]}> "x" _:n{i} .\n' for i in range(8)),
}


@pytest.mark.parametrize("name", POISON)
def test_other_poison_families_are_refused_quickly(name: str) -> None:
    poison = quads(POISON[name])
    started = time.perf_counter()
    with pytest.raises(PoisonGraphError):
        check_work(poison)
    assert time.perf_counter() - started < REFUSED_WITHIN


def test_the_time_budget_stops_work_the_count_allows() -> None:
    clique = quads(clique_nquads(9))
    started = time.perf_counter()
    with pytest.raises(PoisonGraphError, match=r"0\.05 s"):
        check_work(clique, max_work=10**12, time_budget=0.05)
    assert time.perf_counter() - started < REFUSED_WITHIN


def test_the_limit_is_the_one_given_plus_a_share_per_quad() -> None:
    clique = quads(SYMMETRIC["clique of 4"])
    check_work(clique)
    limit = 100 + WORK_PER_QUAD * len(clique)
    with pytest.raises(PoisonGraphError, match=f"more than {limit} units"):
        check_work(clique, max_work=100)
    check_work(quads(SYMMETRIC["twins"]), max_work=0)


@pytest.fixture(scope="module")
def oxigraph(loader: OfflineDocumentLoader) -> OxigraphCanonicalizer:
    return OxigraphCanonicalizer(loader, remember=0)


def _refuses_quickly(canonicalize: Callable[[dict[str, Any]], str], document: Any) -> None:
    started = time.perf_counter()
    with pytest.raises(PoisonGraphError):
        canonicalize(document)
    assert time.perf_counter() - started < REFUSED_WITHIN


@pytest.mark.parametrize("size", range(6, 13))
def test_clique_credentials_are_refused_quickly_on_the_fast_path(
    oxigraph: OxigraphCanonicalizer, size: int
) -> None:
    _refuses_quickly(oxigraph.canonicalize_fast, clique_credential(size))


@pytest.mark.parametrize("size", range(6, 13))
def test_clique_credentials_are_refused_quickly_by_pyld(
    oxigraph: OxigraphCanonicalizer, canonicalizer: PyldCanonicalizer, size: int
) -> None:
    document = clique_credential(size, to_pyld=True)
    with pytest.raises(FastPathDeclined):
        oxigraph.canonicalize_fast(document)
    _refuses_quickly(oxigraph.canonicalize, document)
    _refuses_quickly(canonicalizer.canonicalize, document)


def test_a_small_clique_credential_is_canonicalized_alike_on_every_path(
    oxigraph: OxigraphCanonicalizer, canonicalizer: PyldCanonicalizer
) -> None:
    fast = oxigraph.canonicalize_fast(clique_credential(4))
    assert fast == canonicalizer.canonicalize(clique_credential(4))
    assert fast.count("\n") == 4 * 3 + 4 + 3  # the edges, credentialSubject, type, validFrom


def test_credentials_with_repeated_blank_nodes_are_accepted(
    oxigraph: OxigraphCanonicalizer, canonicalizer: PyldCanonicalizer
) -> None:
    evidence = {"type": ["Evidence"], "name": "Final exam"}
    credential = vc2_credential("did:example:issuer", evidence=[evidence, dict(evidence)] * 3)
    nquads = oxigraph.canonicalize(credential)
    assert nquads == canonicalizer.canonicalize(credential)
    assert "_:c14n6" in nquads  # the credential and six evidence nodes are blank


@pytest.mark.parametrize("copies", [2, 10])
def test_a_presentation_of_one_credential_several_times_is_accepted(
    oxigraph: OxigraphCanonicalizer,
    canonicalizer: PyldCanonicalizer,
    data_integrity: DataIntegrity,
    copies: int,
) -> None:
    """Each copy is a named graph whose blank name is related to its nodes through every quad
    alike: only distinct orderings of them may count as work."""
    pair = KeyPair.generate()
    did = did_key_from_public_key(pair.public_key)
    method_id = did_key_verification_method_id(did)
    credential = data_integrity.add_proof(
        vc2_credential(did), pair, method_id, created=datetime(2026, 1, 1, tzinfo=UTC)
    )
    presentation = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "verifiableCredential": [credential] * copies,
    }
    nquads = oxigraph.canonicalize(presentation)
    assert nquads == canonicalizer.canonicalize(presentation)
    # the presentation, and per copy its graph, the credential, the proof graph and the proof
    labels = {term for line in nquads.splitlines() for term in line.split() if term[:2] == "_:"}
    assert len(labels) == 1 + 4 * copies
