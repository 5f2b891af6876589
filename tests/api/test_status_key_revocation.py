"""Revoking an issuer key re-signs its status lists at once; a list signed by a revoked key is
never served."""

from __future__ import annotations

import httpx
import pytest

from app.status.bitstring import Bitstring
from tests.api.test_faults import _issue_and_publish, _revoke
from tests.conftest import problem_of
from tests.factories import issuer_with_key

pytestmark = pytest.mark.anyio


async def test_revoking_a_retired_key_re_signs_its_lists_with_the_active_key(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    vc, path, before = await _issue_and_publish(client, auth, issuer["did"])
    old_method = before.json()["proof"]["verificationMethod"]
    assert old_method.endswith("#key-1")
    rotated = await client.post(f"/admin/issuers/{random_slug}/keys/rotate", headers=admin_headers)
    assert rotated.status_code == 201, rotated.text
    # The list signed by key-1 is still fresh: a retired key verifies what it signed.
    assert (await client.get(path)).json() == before.json()

    revoked = await client.post(
        f"/admin/issuers/{random_slug}/keys/key-1/revoke", headers=admin_headers
    )
    assert revoked.status_code == 200, revoked.text
    after = await client.get(path)
    assert after.status_code == 200, after.text
    assert after.headers["ETag"] != before.headers["ETag"]
    listed = after.json()
    assert listed["proof"]["verificationMethod"] == issuer["did"] + "#key-2"
    assert listed["credentialSubject"] == before.json()["credentialSubject"]  # same bits
    # The re-signed list verifies (real Ed25519, the issuer's DID document from the database).
    verified = await client.post("/credentials/verify", json={"verifiableCredential": listed})
    assert verified.status_code == 200, verified.text

    # And status changes keep being published, signed by the active key.
    await _revoke(client, auth, vc)
    changed = (await client.get(path)).json()
    assert changed["proof"]["verificationMethod"] == issuer["did"] + "#key-2"
    bits = Bitstring.decode(changed["credentialSubject"]["encodedList"])
    assert set(bits.set_indexes()) == {int(vc["credentialStatus"]["statusListIndex"])}


async def test_a_list_signed_by_a_revoked_key_is_not_served_when_no_key_can_sign(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    _, path, before = await _issue_and_publish(client, auth, issuer["did"])
    revoked = await client.post(
        f"/admin/issuers/{random_slug}/keys/key-1/revoke", headers=admin_headers
    )
    assert revoked.status_code == 200, revoked.text
    for headers in ({}, {"If-None-Match": before.headers["ETag"]}):
        response = await client.get(path, headers=headers)
        assert response.status_code == 503, response.text
        assert problem_of(response)["type"] == "urn:microcred:problem:STATUS_LIST_UNAVAILABLE"

    rotated = await client.post(f"/admin/issuers/{random_slug}/keys/rotate", headers=admin_headers)
    assert rotated.status_code == 201, rotated.text
    after = await client.get(path)
    assert after.status_code == 200, after.text
    assert after.json()["proof"]["verificationMethod"] == issuer["did"] + "#key-2"
