"""The OpenAPI document as committed in ``openapi.yaml`` (a test keeps the two equal)."""

from __future__ import annotations

from typing import Any

import yaml

from app.config import Settings


def openapi_document() -> dict[str, Any]:
    from app.main import create_app

    # Secrets play no part in the schema; development mode lets this run anywhere.
    app = create_app(Settings.model_validate({"env": "development"}))
    document: dict[str, Any] = app.openapi()
    return document


def openapi_yaml() -> str:
    return yaml.safe_dump(openapi_document(), sort_keys=False, allow_unicode=True, width=100)
