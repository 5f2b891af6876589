"""A bound on the cost of pyld's node map, checked on the expanded document before it is built.

pyld adds each value of a node's property after comparing it with every value already there, so
one property collecting n values costs n²/2 comparisons: a credential of a hundred kilobytes with
10,000 values in one array kept pyld busy for many seconds (bench/README.md), far under the quad
cap, which is only checked after the node map. Values of nodes sharing an ``@id`` are counted
together, as pyld merges them.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from app.jsonld.errors import JsonLdProcessingError

#: The sum over (node, property) of the squared number of values: 250,000 (500 values of one
#: property) is tens of milliseconds of pyld. An Open Badge of 100 learning outcomes with 19
#: ESCO skills each sums to about 46,000.
DEFAULT_MAX_NODE_MAP_COST = 250_000


def check_node_map_cost(expanded: Any, max_cost: int = DEFAULT_MAX_NODE_MAP_COST) -> None:
    """Raise :class:`JsonLdProcessingError` when building pyld's node map of the expanded
    document ``expanded`` would cost more than ``max_cost`` (see the module docstring)."""
    counts: Counter[tuple[object, str]] = Counter()
    _count_values(expanded, counts)
    cost = sum(count * count for count in counts.values())
    if cost > max_cost:
        (_, busiest), most = counts.most_common(1)[0]
        raise JsonLdProcessingError(
            f"the document gives one node {most} values of {busiest}: too many to process "
            f"(a cost of {cost}, at most {max_cost} allowed)"
        )


def _count_values(element: Any, counts: Counter[tuple[object, str]]) -> None:
    if isinstance(element, list):
        for item in element:
            _count_values(item, counts)
        return
    if not isinstance(element, dict) or "@value" in element:
        return
    if "@list" in element:
        _count_values(element["@list"], counts)
        return
    identifier = element.get("@id")
    node: object = identifier if isinstance(identifier, str) else id(element)
    for key, values in element.items():
        if key == "@id":
            continue
        if key == "@reverse" and isinstance(values, dict):
            for reverse, nodes in values.items():
                counts[(node, "^" + reverse)] += len(nodes) if isinstance(nodes, list) else 1
                _count_values(nodes, counts)
            continue
        counts[(node, key)] += len(values) if isinstance(values, list) else 1
        _count_values(values, counts)
