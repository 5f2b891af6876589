"""An issued EDC carries certificate pages whose QR code leads to the credential's public page."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest

from tests.factories import issuer_with_key, microcredential_body
from tests.unit.test_certificate import zbar

pytestmark = pytest.mark.anyio


async def test_each_page_of_an_issued_edc_scans_to_its_public_page(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str, tmp_path: Path
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    response = await client.post(
        "/microcredentials", json=microcredential_body("edc"), headers=auth
    )
    assert response.status_code == 201, response.text
    vc = response.json()["verifiableCredential"]
    uuid = vc["id"].removeprefix("urn:uuid:")
    assert response.headers["location"].endswith(uuid)
    pages = vc["displayParameter"]["individualDisplay"]
    assert len(pages) == 2
    for page in pages:
        png = base64.b64decode(page["displayDetail"][0]["image"]["content"])
        assert zbar(png, tmp_path) == [f"https://credentials.example.edu/v/{uuid}"]
