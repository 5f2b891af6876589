"""A work limit for RDFC-1.0, checked before pyoxigraph or pyld canonicalize a dataset.

Hash N-Degree Quads is factorial on symmetric blank-node graphs ("poison graphs", RDFC-1.0
section 4.4 and its privacy and security considerations): a 2 KB credential whose subject is a
clique of 9 blank nodes kept pyoxigraph busy for a minute. Neither library bounds its work, so
this module runs the identifier issuing phase of RDFC-1.0 itself, counting the work of Hash
N-Degree Quads, and raises :class:`PoisonGraphError` beyond a limit. When every blank node has a
unique first-degree hash (nearly every credential) no N-degree hashing runs at all.

Quads are tuples of terms in N-Quads form (``<iri>``, ``_:label``, ``"literal"…``), the graph
name ``""`` for the default graph. :func:`canonical_labels` gives the canonical labels, so the
tests can compare this implementation with pyoxigraph's.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import pyoxigraph
from pyld.nquads import RDF_LANGSTRING, XSD_STRING, escape

from app.jsonld.errors import JsonLdProcessingError

Quad = tuple[str, str, str, str]

#: Units of work (one per Hash N-Degree Quads call, per quad it reads and per blank node of each
#: distinct permutation it tries) allowed per dataset, plus :data:`WORK_PER_QUAD` per quad naming a
#: blank node; a unit is a few microseconds here. Nearly every credential needs none (no two blank
#: nodes share a first-degree hash). Measured: a presentation of one credential ten times, 680
#: units; an Open Badge of 100 identical learning outcomes with 19 ESCO skills each (1,920 blank
#: nodes, 11,512 quads naming one), 13,320 of its 36,536; a clique of 4 blank nodes 1,108, of 5
#: 9,165, of 6 82,866, and each node more multiplies the work by its count.
DEFAULT_MAX_WORK = 2_000
WORK_PER_QUAD = 3
#: Wall-clock seconds allowed for the N-degree hashing, a backstop to the work count.
DEFAULT_TIME_BUDGET = 0.25
#: Nested Hash N-Degree Quads calls allowed (three Python frames each, well inside the
#: interpreter's recursion limit); a symmetric chain of blank nodes nests one call per node.
MAX_DEPTH = 100


class PoisonGraphError(JsonLdProcessingError):
    """The dataset's blank nodes are too symmetric to canonicalize within the work limit."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            "the document's blank nodes are too symmetric to canonicalize within the work "
            f"limit ({reason})"
        )
        self.reason = reason

    def __reduce__(self) -> tuple[type[PoisonGraphError], tuple[str]]:  # from a worker process
        return type(self), (self.reason,)


class _Issuer:
    """An identifier issuer (RDFC-1.0 4.5): ``issued`` keeps the order of issuing."""

    __slots__ = ("issued", "prefix")

    def __init__(self, prefix: str, issued: dict[str, str] | None = None) -> None:
        self.prefix = prefix
        self.issued: dict[str, str] = issued or {}

    def issue(self, node: str) -> str:
        label = self.issued.get(node)
        if label is None:
            label = self.issued[node] = f"{self.prefix}{len(self.issued)}"
        return label

    def copy(self) -> _Issuer:
        return _Issuer(self.prefix, dict(self.issued))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _is_blank(term: str) -> bool:
    return term.startswith("_:")


def _mask(term: str, node: str) -> str:
    """A term as Hash First Degree Quads writes it: ``_:a`` for ``node``, ``_:z`` for any other
    blank node."""
    if not _is_blank(term):
        return term
    return "_:a" if term == node else "_:z"


def _nquad(quad: Quad) -> str:
    subject, predicate, obj, graph = quad
    if graph:
        return f"{subject} {predicate} {obj} {graph} .\n"
    return f"{subject} {predicate} {obj} .\n"


class _IdentifierIssuing:
    """The state of RDFC-1.0's canonicalization algorithm (4.4), with a work counter."""

    def __init__(self, quads: Iterable[Quad], max_work: int, time_budget: float) -> None:
        self.quads_of: dict[str, list[Quad]] = {}
        count = 0
        for quad in quads:
            subject, _, obj, graph = quad
            nodes = dict.fromkeys(t for t in (subject, obj, graph) if _is_blank(t))
            for node in nodes:
                self.quads_of.setdefault(node, []).append(quad)
            count += bool(nodes)
        self.first_degree: dict[str, str] = {}
        self.canonical = _Issuer("c14n")
        self.max_work = max_work + WORK_PER_QUAD * count
        self.work = 0
        self.time_budget = time_budget
        self.deadline = 0.0
        self.depth = 0

    def issue_all(self) -> dict[str, str]:
        """Steps 3 to 5 of 4.4: the canonical label of every blank node."""
        by_hash: dict[str, list[str]] = {}
        for node in self.quads_of:
            by_hash.setdefault(self.hash_first_degree(node), []).append(node)
        shared: list[list[str]] = []
        for _, nodes in sorted(by_hash.items()):
            if len(nodes) == 1:
                self.canonical.issue(nodes[0])
            else:
                shared.append(nodes)
        if shared:
            self.deadline = time.monotonic() + self.time_budget
        for nodes in shared:
            results: list[tuple[str, _Issuer]] = []
            for node in nodes:
                if node in self.canonical.issued:
                    continue
                temporary = _Issuer("b")
                temporary.issue(node)
                results.append(self.hash_n_degree(node, temporary))
            for _, issuer in sorted(results, key=lambda result: result[0]):
                for node in issuer.issued:
                    self.canonical.issue(node)
        return self.canonical.issued

    def hash_first_degree(self, node: str) -> str:
        """Hash First Degree Quads (4.6): https://www.w3.org/TR/rdf-canon/#hash-1d-quads"""
        cached = self.first_degree.get(node)
        if cached is None:
            lines = sorted(
                _nquad((_mask(s, node), p, _mask(o, node), _mask(g, node)))
                for s, p, o, g in self.quads_of[node]
            )
            cached = self.first_degree[node] = _sha256("".join(lines))
        return cached

    def hash_related(self, related: str, quad: Quad, issuer: _Issuer, position: str) -> str:
        """Hash Related Blank Node (4.7): https://www.w3.org/TR/rdf-canon/#hash-related-blank-node"""
        label = self.canonical.issued.get(related) or issuer.issued.get(related)
        identifier = f"_:{label}" if label else self.hash_first_degree(related)
        predicate = quad[1] if position != "g" else ""
        return _sha256(position + predicate + identifier)

    def spend(self, units: int) -> None:
        self.work += units
        if self.work > self.max_work:
            raise PoisonGraphError(f"more than {self.max_work} units of N-degree hashing")
        if time.monotonic() > self.deadline:
            raise PoisonGraphError(f"more than {self.time_budget} s of N-degree hashing")

    def hash_n_degree(self, node: str, issuer: _Issuer) -> tuple[str, _Issuer]:
        """Hash N-Degree Quads (4.9): https://www.w3.org/TR/rdf-canon/#hash-nd-quads"""
        quads = self.quads_of[node]
        self.spend(1 + len(quads))
        if self.depth >= MAX_DEPTH:
            raise PoisonGraphError(f"N-degree hashing nested more than {MAX_DEPTH} deep")
        self.depth += 1
        try:
            return self.hash_n_degree_quads(node, quads, issuer)
        finally:
            self.depth -= 1

    def hash_n_degree_quads(
        self, node: str, quads: list[Quad], issuer: _Issuer
    ) -> tuple[str, _Issuer]:
        """Steps 1 to 6 of Hash N-Degree Quads, on ``node``'s quads."""
        related_by_hash: dict[str, list[str]] = {}
        for quad in quads:
            for term, position in zip((quad[0], quad[2], quad[3]), "sog", strict=True):
                if _is_blank(term) and term != node:
                    related_hash = self.hash_related(term, quad, issuer, position)
                    related_by_hash.setdefault(related_hash, []).append(term)
        data_to_hash = ""
        for related_hash, related in sorted(related_by_hash.items()):
            data_to_hash += related_hash
            chosen_path, chosen_issuer = self.choose_path(related, issuer)
            data_to_hash += chosen_path
            issuer = chosen_issuer
        return _sha256(data_to_hash), issuer

    def choose_path(self, related: list[str], issuer: _Issuer) -> tuple[str, _Issuer]:
        """Step 5.4 of Hash N-Degree Quads: the least path over the permutations of
        ``related``, and the issuer that gave it."""
        chosen_path = ""
        chosen_issuer = issuer
        for permutation in _distinct_permutations(related):
            self.spend(len(permutation))
            path = self.path_of(permutation, issuer.copy(), chosen_path)
            if path is not None and (not chosen_path or path[0] < chosen_path):
                chosen_path, chosen_issuer = path
        return chosen_path, chosen_issuer

    def path_of(
        self, permutation: tuple[str, ...], issuer: _Issuer, chosen_path: str
    ) -> tuple[str, _Issuer] | None:
        """Steps 5.4.4 and 5.4.5: the path of one permutation, or None once it cannot be less
        than ``chosen_path``."""
        path = ""
        recursion: list[str] = []
        for related in permutation:
            label = self.canonical.issued.get(related)
            if label is None:
                if related not in issuer.issued:
                    recursion.append(related)
                label = issuer.issue(related)
            path += f"_:{label}"
            if _worse(path, chosen_path):
                return None
        for related in recursion:
            result_hash, issuer = self.hash_n_degree(related, issuer)
            path += f"_:{issuer.issue(related)}<{result_hash}>"
            if _worse(path, chosen_path):
                return None
        return path, issuer


def _distinct_permutations(items: list[str]) -> Iterator[tuple[str, ...]]:
    """Each distinct ordering of ``items`` once, in lexicographic order. A blank node related
    through several quads alike (every quad of a graph it names) is listed once per quad;
    orderings differing only in such repeats give the same path, and pyld and rdf-canonize skip
    them too, so counting them as work would refuse ordinary presentations."""
    current = sorted(items)
    while True:
        yield tuple(current)
        pivot = len(current) - 2
        while pivot >= 0 and current[pivot] >= current[pivot + 1]:
            pivot -= 1
        if pivot < 0:
            return
        swap = len(current) - 1
        while current[swap] <= current[pivot]:
            swap -= 1
        current[pivot], current[swap] = current[swap], current[pivot]
        current[pivot + 1 :] = reversed(current[pivot + 1 :])


def _worse(path: str, chosen_path: str) -> bool:
    return bool(chosen_path) and len(path) >= len(chosen_path) and path > chosen_path


def canonical_labels(
    quads: Iterable[Quad],
    *,
    max_work: int = DEFAULT_MAX_WORK,
    time_budget: float = DEFAULT_TIME_BUDGET,
) -> dict[str, str]:
    """The canonical label (``c14nN``) of each blank node of ``quads``, by RDFC-1.0;
    :class:`PoisonGraphError` when the N-degree hashing needs more than ``max_work`` units plus
    :data:`WORK_PER_QUAD` per quad, or more than ``time_budget`` seconds."""
    return _IdentifierIssuing(quads, max_work, time_budget).issue_all()


def check_work(
    quads: Iterable[Quad],
    *,
    max_work: int = DEFAULT_MAX_WORK,
    time_budget: float = DEFAULT_TIME_BUDGET,
) -> None:
    """Raise :class:`PoisonGraphError` if canonicalizing ``quads`` needs more than the limits
    allow (only quads naming a blank node matter)."""
    canonical_labels(quads, max_work=max_work, time_budget=time_budget)


def canonical_nquads(
    quads: Iterable[Quad],
    *,
    max_work: int = DEFAULT_MAX_WORK,
    time_budget: float = DEFAULT_TIME_BUDGET,
) -> str:
    """The canonical N-Quads of ``quads`` (sorted lines), for comparison with other
    implementations."""
    quads = list(quads)
    labels = canonical_labels(quads, max_work=max_work, time_budget=time_budget)

    def relabel(term: str) -> str:
        return f"_:{labels[term]}" if _is_blank(term) else term

    lines = {_nquad((relabel(s), p, relabel(o), relabel(g))) for s, p, o, g in quads}
    return "".join(sorted(lines))


def oxigraph_quads(dataset: Iterable[pyoxigraph.Quad]) -> Iterator[Quad]:
    """The quads of a pyoxigraph dataset that name a blank node, as N-Quads terms."""
    blank = pyoxigraph.BlankNode
    for quad in dataset:
        subject, obj, graph = quad.subject, quad.object, quad.graph_name
        if isinstance(subject, blank) or isinstance(obj, blank) or isinstance(graph, blank):
            graph_name = "" if isinstance(graph, pyoxigraph.DefaultGraph) else str(graph)
            yield str(subject), str(quad.predicate), str(obj), graph_name


def pyld_quads(dataset: Mapping[str, list[dict[str, Any]]]) -> Iterator[Quad]:
    """The quads of a pyld RDF dataset (graph name to triples) that name a blank node."""
    for name, triples in dataset.items():
        graph = "" if name == "@default" else _pyld_term({"type": "IRI", "value": name})
        for triple in triples:
            subject, obj = triple["subject"], triple["object"]
            if (
                graph.startswith("_:")
                or subject["type"] == "blank node"
                or obj["type"] == "blank node"
            ):
                terms = (_pyld_term(subject), _pyld_term(triple["predicate"]), _pyld_term(obj))
                yield (*terms, graph)


def _pyld_term(term: Mapping[str, Any]) -> str:
    """One term as pyld writes it in N-Quads (``pyld.nquads.serialize_nquad``)."""
    value: str = term["value"]
    if term["type"] == "IRI":
        return value if value.startswith("_:") else f"<{value}>"
    if term["type"] == "blank node":
        return value
    literal = f'"{escape(value)}"'
    datatype = term.get("datatype")
    if datatype == RDF_LANGSTRING:
        return literal + (f"@{term['language']}" if term.get("language") else "")
    return literal if datatype == XSD_STRING else f"{literal}^^<{datatype}>"
