"""The layers of ARCHITECTURE.md, read from the source with ``ast``.

- A service commits (or rolls back) only in the named entry points that ``app/db/session.py``
  lists; everything else runs in the session it is given.
- Nothing below the HTTP layer imports it: neither the services, the pure packages nor the
  ``microcred`` command import ``app.api`` or ``app.web``.
- The pure packages import neither the database, FastAPI nor the settings.
- No module imports another one's private (``_``) names.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "app"

#: The functions that end a transaction themselves (app/db/session.py says why).
COMMITTING_ENTRY_POINTS = {
    "app.services.issuance.issue_and_commit",
    "app.services.challenges.consume_and_commit",
    "app.services.bulk_status.change_and_commit",
    "app.services.stacks.resolve_and_commit",
}
PURE_PACKAGES = ("credentials", "crypto", "jsonld", "status", "did")
HTTP_LAYERS = ("app.api", "app.web")
NOT_IN_PURE_PACKAGES = ("app.db", "app.config", "fastapi", "starlette")


def module_name(path: Path, root: Path = APP.parent) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(*relative: str) -> list[Path]:
    found: list[Path] = []
    for name in relative:
        path = APP / name
        found.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return found


def parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imported(path: Path, root: Path = APP.parent) -> Iterator[tuple[int, str]]:
    """Every module ``path`` imports, wherever the import statement stands (line, name)."""
    own = module_name(path, root)
    package = own if path.name == "__init__.py" else own.rsplit(".", 1)[0]
    for node in ast.walk(parsed(path)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            yield node.lineno, base
            for alias in node.names:  # from app import api
                yield node.lineno, f"{base}.{alias.name}"


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def imports_of(layer: str, forbidden: tuple[str, ...]) -> list[str]:
    """Where the modules of ``layer`` import one of ``forbidden`` (or a module inside one)."""
    return [
        f"{path.relative_to(APP.parent)}:{line} imports {name}"
        for path in modules(layer)
        for line, name in imported(path)
        if within(name, forbidden)
    ]


def transaction_ends(path: Path, root: Path = APP.parent) -> Iterator[tuple[int, str, str]]:
    """Each ``….commit(`` or ``….rollback(`` call: (line, the call, the enclosing function's
    qualified name)."""

    def visit(node: ast.AST, scope: str) -> Iterator[tuple[int, str, str]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                yield from visit(child, f"{scope}.{child.name}")
                continue
            if (
                isinstance(child, ast.Call)
                and isinstance(child.func, ast.Attribute)
                and child.func.attr in ("commit", "rollback")
            ):
                yield child.lineno, child.func.attr, scope
            yield from visit(child, scope)

    yield from visit(parsed(path), module_name(path, root))


def test_services_end_transactions_only_in_the_named_entry_points() -> None:
    found = {
        (scope, f"{path.relative_to(APP.parent)}:{line} .{call}(")
        for path in modules("services")
        for line, call, scope in transaction_ends(path)
    }
    outside = sorted(where for scope, where in found if scope not in COMMITTING_ENTRY_POINTS)
    assert outside == [], "a service ends a transaction outside the named entry points"
    # Each entry point still commits: the list names real functions, not stale ones.
    assert {scope for scope, _ in found} == COMMITTING_ENTRY_POINTS


@pytest.mark.parametrize(
    "layer",
    ["services", *PURE_PACKAGES, "cli.py", "cli_admin.py", "cli_db.py"],
    ids=lambda layer: f"app/{layer}",
)
def test_no_layer_below_http_imports_it(layer: str) -> None:
    assert imports_of(layer, HTTP_LAYERS) == []


@pytest.mark.parametrize("package", PURE_PACKAGES)
def test_pure_packages_take_arguments_not_the_database_web_or_settings(package: str) -> None:
    assert imports_of(package, NOT_IN_PURE_PACKAGES) == []


def test_no_module_imports_another_ones_private_names() -> None:
    offending = [
        f"{path.relative_to(APP.parent)}:{node.lineno} imports {node.module}.{alias.name}"
        for path in modules(".")
        for node in ast.walk(parsed(path))
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("app")
        for alias in node.names
        if alias.name.startswith("_") and not alias.name.startswith("__")
    ]
    assert offending == []


def test_the_checks_see_what_they_look_for(tmp_path: Path) -> None:
    """The readers find a commit in a nested function and a lazy, relative import."""
    services = tmp_path / "app" / "services"
    services.mkdir(parents=True)
    sample = services / "sample.py"
    sample.write_text(
        "async def outer(session):\n"
        "    async def inner():\n"
        "        from ..api import deps\n"
        "        await session.commit()\n"
        "    await inner()\n",
        encoding="utf-8",
    )
    assert list(transaction_ends(sample, tmp_path)) == [
        (4, "commit", "app.services.sample.outer.inner")
    ]
    assert (3, "app.api.deps") in set(imported(sample, tmp_path))
