"""The service shell: health, readiness, problem+json for every error, OpenAPI kept in sync."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fastapi import FastAPI

from app.config import Settings
from app.main import create_app
from app.openapi import openapi_document
from app.state import state_of
from tests.conftest import problem_of

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[2]


async def test_health_answers_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_checks_the_database(client: httpx.AsyncClient) -> None:
    response = await client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


async def test_ready_fails_with_503_when_the_database_is_unreachable() -> None:
    settings = Settings.model_validate(
        {
            "env": "development",
            # nothing listens on port 1: the connection is refused at once
            "database_url": "postgresql+asyncpg://postgres@127.0.0.1:1/none",
        }
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/ready")
    assert response.status_code == 503
    assert problem_of(response)["title"] == "Service unavailable"
    assert response.headers["retry-after"] == "5"


async def test_unknown_path_is_a_404_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/no/such/thing")
    assert response.status_code == 404
    body = problem_of(response)
    assert body["title"] == "Not Found"
    assert body["instance"] == "/no/such/thing"


async def test_wrong_method_is_a_405_problem(client: httpx.AsyncClient) -> None:
    response = await client.delete("/health")
    assert response.status_code == 405
    assert problem_of(response)["title"] == "Method Not Allowed"


async def test_oversized_body_is_a_413_problem(app: FastAPI, client: httpx.AsyncClient) -> None:
    limit = app.state.services.settings.max_body_bytes
    response = await client.post("/health", content=b"x" * (limit + 1))
    assert response.status_code == 413
    assert problem_of(response)["title"] == "Request body too large"


def test_openapi_yaml_equals_the_apps_schema() -> None:
    committed = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
    assert committed == openapi_document(), "run `make openapi` and commit openapi.yaml"


def test_production_refuses_to_start_without_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.config import ConfigurationError, load_settings

    for name in ("MICROCRED_MASTER_KEY", "MICROCRED_ADMIN_TOKEN", "MICROCRED_ENV"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigurationError) as excinfo:
        load_settings()
    message = str(excinfo.value)
    assert "MICROCRED_MASTER_KEY" in message and "MICROCRED_ADMIN_TOKEN" in message


def test_a_malformed_master_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.config import ConfigurationError, load_settings

    monkeypatch.setenv("MICROCRED_ENV", "development")
    monkeypatch.setenv("MICROCRED_MASTER_KEY", "too-short")
    with pytest.raises(ConfigurationError, match="MICROCRED_MASTER_KEY"):
        load_settings()


async def test_deeply_nested_json_is_refused_before_any_route(client: httpx.AsyncClient) -> None:
    nested: object = "x"
    for _ in range(200):
        nested = {"a": nested}
    response = await client.post("/credentials/verify", json={"verifiableCredential": nested})
    assert response.status_code == 422
    assert problem_of(response)["type"].endswith("JSON_TOO_COMPLEX")


async def test_huge_json_arrays_are_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/credentials/verify", json={"x": [0] * 10_001})
    assert response.status_code == 422
    assert "array" in problem_of(response)["detail"]


async def test_streamed_body_over_the_limit_is_413(app: FastAPI, client: httpx.AsyncClient) -> None:
    limit = app.state.services.settings.max_body_bytes

    async def chunks() -> Any:
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536

    response = await client.post(
        "/credentials/verify", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    problem_of(response)


@pytest.mark.parametrize("name", ["pyld", "oxigraph"])
async def test_the_canonicalizer_setting_picks_the_implementation(name: str) -> None:
    from app.jsonld import OxigraphCanonicalizer, PyldCanonicalizer

    app = create_app(Settings.model_validate({"env": "development", "canonicalizer": name}))
    async with app.router.lifespan_context(app):  # connects to no database
        chosen = state_of(app).data_integrity.suites["eddsa-rdfc-2022"].canonicalizer
    expected = OxigraphCanonicalizer if name == "oxigraph" else PyldCanonicalizer
    assert type(chosen) is expected


async def test_ready_fails_while_the_schema_is_not_migrated(tmp_path: Path) -> None:
    settings = Settings.model_validate(
        {"env": "development", "database_url": f"sqlite+aiosqlite:///{tmp_path / 'new.db'}"}
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/ready")
    assert response.status_code == 503
    assert "microcred migrate" in problem_of(response)["detail"]


def test_no_route_or_dependency_runs_in_the_thread_pool() -> None:
    """FastAPI runs a plain ``def`` endpoint or dependency in its thread pool: a thread handoff
    on every request. Every one of ours is ``async``."""
    import inspect

    from fastapi.dependencies.models import Dependant
    from fastapi.routing import APIRoute

    def runs_in_a_thread(call: Any) -> bool:
        if inspect.isclass(call):
            return False  # a model or class dependency is built, not awaited
        if not (inspect.isfunction(call) or inspect.ismethod(call)):
            call = getattr(call, "__call__", call)  # noqa: B004 (instances such as HTTPBearer)
        return not (inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call))

    def sync_calls(dependant: Dependant) -> list[str]:
        found = [
            getattr(d.call, "__qualname__", repr(d.call))
            for d in dependant.dependencies
            if d.call is not None and runs_in_a_thread(d.call)
        ]
        for sub in dependant.dependencies:
            found += sync_calls(sub)
        return found

    def api_routes(routes: list[Any]) -> list[APIRoute]:
        found: list[APIRoute] = []
        for route in routes:
            if isinstance(route, APIRoute):
                found.append(route)
            elif (router := getattr(route, "original_router", None)) is not None:
                found += api_routes(router.routes)  # an included router
        return found

    app = create_app(Settings(env="development"))
    routes = api_routes(app.routes)
    assert len(routes) > 20
    offenders = {
        route.path: calls
        for route in routes
        if (
            calls := sync_calls(route.dependant)
            + (["endpoint"] if runs_in_a_thread(route.endpoint) else [])
        )
    }
    assert offenders == {}
