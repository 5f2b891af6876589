"""SD-JWT VC over HTTP: issuing, Type Metadata at the vct URL, Token Status List tokens."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.crypto import jws
from app.crypto.keys import KeyPair, PublicKey
from app.sdjwt import core
from app.status.tokenstatus import TokenStatusList, parse_reference
from tests.conftest import problem_of
from tests.factories import issuer_with_key, microcredential_body

pytestmark = pytest.mark.anyio

BASE = "https://credentials.example.edu"
HOLDER = KeyPair(bytes(range(7, 39)))


def sd_jwt_body(**overrides: Any) -> dict[str, Any]:
    body = microcredential_body("edc", **overrides)
    body["format"] = "sd-jwt"
    body.pop("cryptosuite", None)
    body["learner"] = {"id": "did:example:aoife", "givenName": "Aoife", "familyName": "Byrne"}
    body["learner"]["dateOfBirth"] = "2001-04-05"
    body["grade"] = "A"
    body["holderJwk"] = jws.public_jwk(HOLDER.public_key)
    return body


async def issue_sd_jwt(
    client: httpx.AsyncClient, auth: dict[str, str], **overrides: Any
) -> tuple[str, str]:
    response = await client.post("/microcredentials", json=sd_jwt_body(**overrides), headers=auth)
    assert response.status_code == 201, response.text
    credential_id = response.headers["Location"].removeprefix("/credentials/")
    sd_jwt = response.json()["verifiableCredential"]
    assert isinstance(sd_jwt, str)
    return credential_id, sd_jwt


async def issuer_key(client: httpx.AsyncClient, did: str, kid: str) -> PublicKey:
    document = (await client.get("/" + "/".join(did.split(":")[3:]) + "/did.json")).json()
    method = next(m for m in document["verificationMethod"] if m["id"] == kid)
    return PublicKey.from_multibase(method["publicKeyMultibase"])


async def token_statuses(client: httpx.AsyncClient, uri: str, did: str) -> TokenStatusList:
    response = await client.get(uri.removeprefix(BASE))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/statuslist+jwt"
    assert "max-age" in response.headers["cache-control"] and response.headers["etag"]
    header, _ = jws.unverified(response.text)
    assert header["typ"] == "statuslist+jwt"
    _, payload = jws.verify(response.text, await issuer_key(client, did, header["kid"]))
    claims = jws.json_object(payload, "status list token")
    assert claims["sub"] == uri and claims["iss"] == did and claims["exp"] > claims["iat"]
    return TokenStatusList.decode(claims["status_list"])


async def test_sd_jwt_vc_is_signed_bound_and_selectively_disclosable(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    _, sd_jwt = await issue_sd_jwt(client, auth)
    parsed = core.parse(sd_jwt)
    header, _ = core.unverified_issuer_part(parsed)
    assert header["typ"] == "dc+sd-jwt" and header["kid"].startswith(issuer["did"] + "#")
    payload = core.check_issuer_signature(
        parsed, await issuer_key(client, issuer["did"], header["kid"])
    )
    assert payload["iss"] == issuer["did"]
    assert payload["vct"] == f"{BASE}/vct/{random_slug}/microcredential"
    assert payload["cnf"]["jwk"] == jws.public_jwk(HOLDER.public_key)
    assert {"title", "eqf_level", "workload", "issuer_name"} <= payload.keys()
    assert "given_name" not in payload and "grade" not in payload
    claims = core.disclosed_claims(payload, parsed.disclosures)
    assert claims["given_name"] == "Aoife" and claims["birthdate"] == "2001-04-05"
    # Type Metadata at the vct URL
    metadata = (await client.get(payload["vct"].removeprefix(BASE))).json()
    assert metadata["vct"] == payload["vct"]
    sd = {c["path"][0]: c["sd"] for c in metadata["claims"]}
    assert sd["grade"] == "allowed" and sd["title"] == "never"
    missing = await client.get(f"/vct/{random_slug}/nothing")
    assert problem_of(missing)["status"] == 404


async def test_token_status_list_follows_revocation_and_suspension(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug, suspensionEnabled=True)
    issued = [await issue_sd_jwt(client, auth) for _ in range(3)]
    references = []
    for _, sd_jwt in issued:
        _, payload = core.unverified_issuer_part(core.parse(sd_jwt))
        references.append(parse_reference(payload["status"]))
    uris = {uri for uri, _ in references}
    assert len(uris) == 1  # one 2-bit list for both purposes
    uri = uris.pop()
    assert len({index for _, index in references}) == 3
    statuses = await token_statuses(client, uri, issuer["did"])
    assert statuses.bits == 2 and statuses.size >= 131_072
    assert all(statuses.get(index) == 0 for _, index in references)

    (revoked, _), (suspended, _), _ = issued
    change = {"credentialId": revoked, "credentialStatus": [{"status": "revoked"}]}
    reply = await client.post("/credentials/status", json=change, headers=auth)
    assert reply.json() == {"credentialId": revoked, "revoked": True, "suspended": False}
    change = {"credentialId": suspended, "credentialStatus": [{"status": "suspended"}]}
    reply = await client.post("/credentials/status", json=change, headers=auth)
    assert reply.json() == {"credentialId": suspended, "revoked": False, "suspended": True}
    statuses = await token_statuses(client, uri, issuer["did"])
    assert [statuses.get(index) for _, index in references] == [1, 2, 0]
    change = {"credentialId": suspended, "credentialStatus": [{"status": "unsuspended"}]}
    await client.post("/credentials/status", json=change, headers=auth)
    statuses = await token_statuses(client, uri, issuer["did"])
    assert [statuses.get(index) for _, index in references] == [1, 0, 0]
    undo = {"credentialId": revoked, "credentialStatus": {"statusPurpose": "revocation"}}
    reply = await client.post("/credentials/status", json={**undo, "status": False}, headers=auth)
    assert reply.status_code == 409
    read = await client.get(f"/credentials/{revoked}", headers=auth)
    assert read.json()["status"] == {"revoked": True, "suspended": False}
    assert isinstance(read.json()["verifiableCredential"], str)
    # a token list is not a bitstring list, and the other way round
    list_id = uri.rsplit("/", 1)[1]
    assert (await client.get(f"/status-lists/{list_id}")).status_code == 404


async def test_one_bit_list_without_suspension_and_bad_holder_keys(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    credential_id, sd_jwt = await issue_sd_jwt(client, auth)
    _, payload = core.unverified_issuer_part(core.parse(sd_jwt))
    uri, _ = parse_reference(payload["status"])
    assert (await token_statuses(client, uri, issuer["did"])).bits == 1
    change = {"credentialId": credential_id, "credentialStatus": [{"status": "suspended"}]}
    reply = await client.post("/credentials/status", json=change, headers=auth)
    assert problem_of(reply)["status"] == 409
    for bad in (
        {"kty": "OKP", "crv": "Ed25519", "x": "AAAA"},
        {"kty": "EC", "crv": "P-256", "x": "a", "y": "b"},
        {**jws.public_jwk(HOLDER.public_key), "d": jws.b64url_encode(HOLDER.seed)},
    ):
        body = sd_jwt_body()
        body["holderJwk"] = bad
        reply = await client.post("/microcredentials", json=body, headers=auth)
        assert problem_of(reply)["status"] == 422, bad
    edc = microcredential_body("edc")
    edc["holderJwk"] = jws.public_jwk(HOLDER.public_key)
    assert (await client.post("/microcredentials", json=edc, headers=auth)).status_code == 422
    unbound = sd_jwt_body()
    del unbound["holderJwk"]
    _, sd_jwt = await issue_sd_jwt(client, auth, **{})  # bound
    reply = await client.post("/microcredentials", json=unbound, headers=auth)
    assert reply.status_code == 201
    _, payload = core.unverified_issuer_part(core.parse(reply.json()["verifiableCredential"]))
    assert "cnf" not in payload


async def test_the_issuer_disclosure_policy_decides_what_is_selectable(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    path = f"/admin/issuers/{random_slug}/sd-jwt-policy"
    default = (await client.get(path, headers=admin_headers)).json()
    assert default["default"] is True and "grade" in default["selectable"]
    assert "title" in default["always"]
    policy = {"selectable": ["birthdate", "grade", "learning_outcomes"]}
    assert (await client.put(path, json=policy)).status_code == 401
    reply = await client.put(path, json=policy, headers=admin_headers)
    assert reply.status_code == 200, reply.text
    assert reply.json()["selectable"] == policy["selectable"] and reply.json()["default"] is False
    _, sd_jwt = await issue_sd_jwt(client, auth)
    _, payload = core.unverified_issuer_part(core.parse(sd_jwt))
    assert payload["given_name"] == "Aoife"  # always disclosed now
    assert "learning_outcomes" not in payload and "grade" not in payload
    metadata = (await client.get(payload["vct"].removeprefix(BASE))).json()
    sd = {c["path"][0]: c["sd"] for c in metadata["claims"]}
    assert sd["learning_outcomes"] == "allowed" and sd["given_name"] == "never"
    refused = await client.put(path, json={"selectable": ["title"]}, headers=admin_headers)
    assert problem_of(refused)["status"] == 422
    back = await client.put(path, json={"selectable": None}, headers=admin_headers)
    assert back.json()["default"] is True


async def test_revoking_the_issuer_key_re_signs_its_token_status_lists(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    _, sd_jwt = await issue_sd_jwt(client, auth)
    _, payload = core.unverified_issuer_part(core.parse(sd_jwt))
    uri, _ = parse_reference(payload["status"])
    before = await client.get(uri.removeprefix(BASE))
    assert jws.unverified(before.text)[0]["kid"] == issuer["did"] + "#key-1"
    rotated = await client.post(f"/admin/issuers/{random_slug}/keys/rotate", headers=admin_headers)
    assert rotated.status_code == 201, rotated.text
    revoked = await client.post(
        f"/admin/issuers/{random_slug}/keys/key-1/revoke", headers=admin_headers
    )
    assert revoked.status_code == 200, revoked.text
    after = await client.get(uri.removeprefix(BASE))
    assert after.status_code == 200 and after.headers["etag"] != before.headers["etag"]
    kid = jws.unverified(after.text)[0]["kid"]
    assert kid != issuer["did"] + "#key-1"
    await token_statuses(client, uri, issuer["did"])  # verifies with the new key
    cached = await client.get(
        uri.removeprefix(BASE), headers={"If-None-Match": after.headers["etag"]}
    )
    assert cached.status_code == 304


async def test_bulk_status_changes_reach_sd_jwt_credentials(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug, suspensionEnabled=True)
    issued = [await issue_sd_jwt(client, auth) for _ in range(2)]
    ldp = await client.post("/microcredentials", json=microcredential_body("edc"), headers=auth)
    assert ldp.status_code == 201, ldp.text
    ldp_id = ldp.headers["Location"].removeprefix("/credentials/")
    references = [
        parse_reference(core.unverified_issuer_part(core.parse(sd_jwt))[1]["status"])
        for _, sd_jwt in issued
    ]
    (uri, _), (first, second) = references[0], [index for _, index in references]
    ids = [credential_id for credential_id, _ in issued]

    async def bulk(purpose: str, value: bool, names: list[str]) -> dict[str, Any]:
        body = {"credentialIds": names, "statusPurpose": purpose, "status": value}
        reply = await client.post("/credentials/status/bulk", json=body, headers=auth)
        assert reply.status_code == 200, reply.text
        result: dict[str, Any] = reply.json()
        return result

    # suspension is the second bit of the SD-JWT's 2-bit token list; an EDC has no suspension
    first_reply = await bulk("suspension", True, [*ids, ldp_id])
    assert (first_reply["changed"], first_reply["notApplicable"]) == (ids, [ldp_id])
    statuses = await token_statuses(client, uri, issuer["did"])
    assert (statuses.get(first), statuses.get(second)) == (2, 2)
    for credential_id in ids:
        read = await client.get(f"/credentials/{credential_id}", headers=auth)
        assert read.json()["status"] == {"revoked": False, "suspended": True}
    assert (await bulk("suspension", True, ids))["unchanged"] == ids
    assert (await bulk("suspension", False, [ids[0]]))["changed"] == [ids[0]]
    assert (await bulk("revocation", True, [ids[1], ldp_id]))["changed"] == [ids[1], ldp_id]
    statuses = await token_statuses(client, uri, issuer["did"])
    assert (statuses.get(first), statuses.get(second)) == (0, 1)  # revoked outranks suspended
