"""Every value of a JSON document, walked once: the one walk the checks that look at all of a
document's values share.

Depth first and iterative, so that nesting cannot exhaust Python's stack: a document reaching a
check may not have passed the request limits (a stored or remote document).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

#: Exact types checked before the abstract ones: most values of a document are these.
_SCALARS = frozenset({str, int, float, bool, type(None)})


def json_values(value: Any) -> Iterator[Any]:
    """``value`` and every value inside it: objects (mappings) and arrays (lists, tuples) first,
    then what they hold, each once; object member names are not values."""
    stack = [value]
    pop, extend = stack.pop, stack.extend
    while stack:
        node = pop()
        yield node
        kind = type(node)
        if kind is dict:
            extend(node.values())
        elif kind is list:
            extend(node)
        elif kind in _SCALARS:
            continue
        elif isinstance(node, Mapping):
            extend(node.values())
        elif isinstance(node, list | tuple):
            extend(node)
