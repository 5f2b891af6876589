"""Interop: a wallet made of independent libraries (``@openid4vc/openid4vp`` for OpenID4VP 1.0
and ``@sd-jwt/sd-jwt-vc``, run with Node) answers presentation requests of a real
``microcred serve`` over HTTP, in both formats, and the verifier reads ``verified``; the request
page in headless Chromium shows the QR code, then the verdict after the wallet answered.

The library parses the ``openid4vp://`` link, fetches the request object, checks its signature
with the key of the ``decentralized_identifier:`` client's DID document (did:web, fetched from
the service) and submits the response by ``direct_post``. It does not make Data Integrity
presentations: for ``ldp_vc`` the holder's proof is signed here with the project's signing code
over the nonce and client identifier the library resolved."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import new_master_key
from app.crypto import jws
from app.crypto.dataintegrity import DataIntegrity
from app.crypto.keys import KeyPair
from app.jsonld import OfflineDocumentLoader
from app.jsonld.canonical import PyldCanonicalizer
from app.resources import CONTEXTS_DIR
from tests import processes
from tests.api.test_sdjwt_issuing import HOLDER, sd_jwt_body
from tests.api.test_serve import free_port
from tests.api.test_verify import did_key_method
from tests.browser import Browser
from tests.conftest import ADMIN_TOKEN
from tests.factories import issuer_body, microcredential_body
from tests.interop import peers

PEER = peers.PEERS / "openid4vp"
ROOT = Path(__file__).resolve().parents[2]
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
SCOPES = ["credentials:issue", "credentials:status", "presentations:request"]
COURSE = "Digital micro-credential creation"


def ensure_installed() -> None:
    peers.ensure_installed(PEER, "the OpenID4VP wallet peer")


def wallet(request: dict[str, Any]) -> dict[str, Any]:
    return peers.run_node(PEER, "wallet.mjs", request)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``microcred serve`` whose public URL is its own loopback address (the wallet fetches the
    request_uri, the response_uri and the did:web documents from it)."""
    ensure_installed()
    tmp_path = tmp_path_factory.mktemp("oid4vp-serve")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MICROCRED_")}
    env.update(
        MICROCRED_ENV="production",
        MICROCRED_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/serve.db",
        MICROCRED_ADMIN_TOKEN=ADMIN_TOKEN,
        MICROCRED_MASTER_KEY=new_master_key(),
        MICROCRED_PUBLIC_URL=url,
        MICROCRED_ALLOW_PRIVATE_NETWORK="true",
        MICROCRED_DID_WEB_SCHEME="http",
        MICROCRED_LOG_LEVEL="WARNING",
    )
    command = [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", "1"]
    with (tmp_path / "serve.log").open("wb") as log:
        process = processes.start(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
        try:
            processes.wait_until_serving(url, process, tmp_path / "serve.log")
            yield url
        finally:
            processes.stop(process)


def organisation(http: httpx.Client, slug: str) -> tuple[dict[str, Any], dict[str, str]]:
    created = http.post("/admin/issuers", json=issuer_body(slug), headers=ADMIN)
    assert created.status_code == 201, created.text
    key = http.post(
        f"/admin/issuers/{slug}/api-keys", json={"name": "hr", "scopes": SCOPES}, headers=ADMIN
    )
    assert key.status_code == 201, key.text
    return created.json(), {"Authorization": f"Bearer {key.json()['key']}"}


def data_integrity() -> DataIntegrity:
    return DataIntegrity(PyldCanonicalizer(OfflineDocumentLoader(CONTEXTS_DIR)))


def ask(http: httpx.Client, auth: dict[str, str], **body: Any) -> dict[str, Any]:
    response = http.post(
        "/presentation-requests", json={"purpose": "Proof of the course", **body}, headers=auth
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def result_of(http: httpx.Client, auth: dict[str, str], request_id: str) -> dict[str, Any]:
    state: dict[str, Any] = http.get(f"/presentation-requests/{request_id}", headers=auth).json()
    return state


def resolved_by_wallet(
    created: dict[str, Any], did: str, mode: str = "direct_post"
) -> dict[str, Any]:
    resolved = wallet(
        {"action": "resolve", "deepLink": created["deep_link"], "didWebScheme": "http"}
    )
    assert resolved["parsedType"] == "jar"
    assert resolved["jarSigner"] == "did"
    assert resolved["client"]["prefix"] == "decentralized_identifier"
    assert resolved["client"]["identifier"] == did
    assert resolved["client"]["didUrl"].startswith(did + "#")
    assert resolved["version"] == 100  # the library reads the request as OpenID4VP 1.0 final
    assert resolved["payload"]["response_mode"] == mode
    return resolved


def test_the_wallet_library_answers_with_an_ldp_vc_and_the_verifier_gets_verified(
    served: str, tmp_path: Path
) -> None:
    holder = KeyPair.generate()
    holder_did, method_id = did_key_method(holder)
    with httpx.Client(base_url=served, timeout=60) as http:
        org, auth = organisation(http, "uni-ldp")
        body = microcredential_body("edc")
        body["learner"]["id"] = holder_did
        issued = http.post("/microcredentials", json=body, headers=auth)
        assert issued.status_code == 201, issued.text
        vc = issued.json()["verifiableCredential"]
        created = ask(http, auth, course=COURSE, issuer=org["did"], eqfLevel=6)

        browser = Browser(tmp_path)
        try:
            browser.open(created["page"])
            browser.screenshot(tmp_path / "asking.png")
            assert browser.attribute("#request", "data-state") == "pending"
            assert browser.attribute("#qr", "src") == f"/ask/{created['id']}/qr.png"
            assert browser.evaluate("document.getElementById('qr').naturalWidth") > 100
            assert browser.attribute("#deep-link", "href") == created["deep_link"]

            resolved = resolved_by_wallet(created, org["did"])
            payload = resolved["payload"]
            assert resolved["dcql"]["credentials"][0]["format"] == "ldp_vc"
            presentation = data_integrity().add_proof(
                {
                    "@context": ["https://www.w3.org/ns/credentials/v2"],
                    "type": ["VerifiablePresentation"],
                    "holder": holder_did,
                    "verifiableCredential": [vc],
                },
                holder,
                method_id,
                created=datetime.now(UTC),
                proof_purpose="authentication",
                challenge=payload["nonce"],
                domain=payload["client_id"],
            )
            answered = wallet(
                {"action": "respond", "payload": payload, "presentation": presentation}
            )
            assert answered["responseMode"] == "direct_post"
            assert answered["status"] == 200, answered["body"]
            assert answered["sentState"] == payload["state"]

            state = result_of(http, auth, created["id"])
            assert state["state"] == "answered"
            assert state["result"]["verified"] is True, state["result"]["errors"]
            assert state["result"]["results"]["dcql"]["verified"] is True

            browser.wait_until("document.getElementById('request').dataset.state === 'answered'")
            browser.screenshot(tmp_path / "answered.png")
            assert browser.attribute("#verdict", "data-verified") == "true"
            checks = browser.html("#checks")
            assert checks.count('data-state="ok"') >= 5 and 'data-state="failed"' not in checks
            assert "It is the credential that was asked for" in checks
        finally:
            browser.close()

        # the wallet library replays the very same response: refused, the answer stands
        replayed = wallet({"action": "respond", "payload": payload, "presentation": presentation})
        assert replayed["status"] == 400 and replayed["body"]["error"] == "invalid_request"
        assert result_of(http, auth, created["id"])["result"]["verified"] is True


def test_the_wallet_library_answers_with_an_sd_jwt_vc_and_key_binding(served: str) -> None:
    holder_private = {**jws.public_jwk(HOLDER.public_key), "d": jws.b64url_encode(HOLDER.seed)}
    with httpx.Client(base_url=served, timeout=60) as http:
        org, auth = organisation(http, "uni-sdjwt")
        issued = http.post("/microcredentials", json=sd_jwt_body(), headers=auth)
        assert issued.status_code == 201, issued.text
        sd_jwt = issued.json()["verifiableCredential"]
        created = ask(http, auth, format="dc+sd-jwt", eqfLevel=6, claims=[["title"]])
        resolved = resolved_by_wallet(created, org["did"])
        query = resolved["dcql"]["credentials"][0]
        assert query["format"] == "dc+sd-jwt" and query["meta"]["vct_values"]

        # a KB-JWT for another audience: not bound to this request
        wrong = wallet(
            {
                "action": "respond",
                "payload": resolved["payload"],
                "sdJwt": sd_jwt,
                "holderPrivateJwk": holder_private,
                "audience": "https://verifier.elsewhere.example",
                "now": int(time.time()),
            }
        )
        assert wrong["status"] == 400 and wrong["body"]["error"] == "invalid_request"
        assert result_of(http, auth, created["id"])["state"] == "pending"

        answered = wallet(
            {
                "action": "respond",
                "payload": resolved["payload"],
                "sdJwt": sd_jwt,
                "holderPrivateJwk": holder_private,
                "frame": {"grade": True},
                "now": int(time.time()),
            }
        )
        assert answered["status"] == 200, answered["body"]
        state = result_of(http, auth, created["id"])
        assert state["state"] == "answered"
        assert state["result"]["verified"] is True, state["result"]["errors"]
        assert state["result"]["results"]["sdJwt"]["keyBinding"]["verified"] is True
        assert state["result"]["results"]["sdJwt"]["disclosed"] == ["grade"]
        assert state["result"]["credential"]["grade"] == "A"


def test_the_wallet_library_is_refused_a_revoked_credential_and_one_not_asked_for(
    served: str,
) -> None:
    holder_private = {**jws.public_jwk(HOLDER.public_key), "d": jws.b64url_encode(HOLDER.seed)}
    with httpx.Client(base_url=served, timeout=60) as http:
        _, auth = organisation(http, "uni-refused")
        issued = http.post("/microcredentials", json=sd_jwt_body(), headers=auth)
        assert issued.status_code == 201, issued.text
        sd_jwt = issued.json()["verifiableCredential"]
        credential_id = issued.headers["Location"].removeprefix("/credentials/")

        # not the level asked for: bound to the request, so answered, and access_denied
        created = ask(http, auth, format="dc+sd-jwt", eqfLevel=8)
        resolved = resolved_by_wallet(created, created["client_id"].split(":", 1)[1])
        answered = wallet(
            {
                "action": "respond",
                "payload": resolved["payload"],
                "sdJwt": sd_jwt,
                "holderPrivateJwk": holder_private,
                "now": int(time.time()),
            }
        )
        assert answered["status"] == 400 and answered["body"]["error"] == "access_denied"
        result = result_of(http, auth, created["id"])["result"]
        assert result["verified"] is False
        assert result["results"]["dcql"]["verified"] is False

        # revoked
        revoke = {"credentialId": credential_id, "credentialStatus": [{"status": "revoked"}]}
        assert http.post("/credentials/status", json=revoke, headers=auth).status_code == 200
        created = ask(http, auth, format="dc+sd-jwt")
        resolved = resolved_by_wallet(created, created["client_id"].split(":", 1)[1])
        answered = wallet(
            {
                "action": "respond",
                "payload": resolved["payload"],
                "sdJwt": sd_jwt,
                "holderPrivateJwk": holder_private,
                "now": int(time.time()),
            }
        )
        assert answered["status"] == 400 and answered["body"]["error"] == "access_denied"
        assert "revoked" in answered["body"]["error_description"].lower()
        assert result_of(http, auth, created["id"])["result"]["verified"] is False


def test_the_wallet_library_encrypts_its_response_for_direct_post_jwt(served: str) -> None:
    holder_private = {**jws.public_jwk(HOLDER.public_key), "d": jws.b64url_encode(HOLDER.seed)}
    with httpx.Client(base_url=served, timeout=60) as http:
        org, auth = organisation(http, "uni-jwe")
        issued = http.post("/microcredentials", json=sd_jwt_body(), headers=auth)
        assert issued.status_code == 201, issued.text
        created = ask(http, auth, format="dc+sd-jwt", response_mode="direct_post.jwt")
        resolved = resolved_by_wallet(created, org["did"], mode="direct_post.jwt")
        [key] = resolved["payload"]["client_metadata"]["jwks"]["keys"]
        assert key["kty"] == "EC" and key["crv"] == "P-256" and "d" not in key
        answered = wallet(
            {
                "action": "respond",
                "payload": resolved["payload"],
                "sdJwt": issued.json()["verifiableCredential"],
                "holderPrivateJwk": holder_private,
                "now": int(time.time()),
            }
        )
        assert answered["responseMode"] == "direct_post.jwt"
        header = json.loads(jws.b64url_decode(answered["jwe"].split(".")[0]))
        assert header["alg"] == "ECDH-ES" and header["enc"] in ("A128GCM", "A256GCM")
        assert answered["status"] == 200, answered["body"]
        state = result_of(http, auth, created["id"])
        assert state["state"] == "answered"
        assert state["result"]["verified"] is True, state["result"]["errors"]


def test_the_wallet_library_answers_the_verify_pages_request_by_value(served: str) -> None:
    holder_private = {**jws.public_jwk(HOLDER.public_key), "d": jws.b64url_encode(HOLDER.seed)}
    with httpx.Client(base_url=served, timeout=60) as http:
        _, auth = organisation(http, "uni-public")
        issued = http.post("/microcredentials", json=sd_jwt_body(), headers=auth)
        assert issued.status_code == 201, issued.text
        asked = http.post("/verify/ask", data={"course": COURSE, "format": "dc+sd-jwt"})
        assert asked.status_code == 303
        page = http.get(asked.headers["location"]).text
        found = re.search(r'id="deep-link" href="([^"]+)"', page)
        assert found is not None
        link = html.unescape(found.group(1))
        resolved = wallet({"action": "resolve", "deepLink": link, "didWebScheme": "http"})
        assert resolved["parsedType"] == "openid4vp" and resolved["jarSigner"] is None
        assert resolved["client"]["prefix"] == "redirect_uri"
        assert resolved["client"]["identifier"] == resolved["payload"]["response_uri"]
        answered = wallet(
            {
                "action": "respond",
                "payload": resolved["payload"],
                "sdJwt": issued.json()["verifiableCredential"],
                "holderPrivateJwk": holder_private,
                "now": int(time.time()),
            }
        )
        assert answered["status"] == 200, answered["body"]
        state = http.get(asked.headers["location"] + "/state").json()
        assert state["state"] == "answered" and state["verified"] is True
