"""The EDC micro-credential every in-process figure signs and verifies, ours and the peer's.

It is what ``POST /microcredentials`` would sign for the example request of
:mod:`app.credentials.examples` (rendered display pages, one revocation status entry), issued by
a ``did:key`` so that both libraries resolve the key offline. Its ``@context`` already ends with
the Data Integrity context, so neither side has to add it and both sign the same bytes.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.credentials.edc import build_edc
from app.credentials.examples import example_issuer, example_request
from app.credentials.microcredential import MicroCredentialIn
from app.credentials.render import render_pages
from app.crypto.dataintegrity import DataIntegrity, with_data_integrity_context
from app.crypto.keys import KeyPair
from app.did.key import did_key_from_public_key, did_key_verification_method_id
from app.jsonld import OfflineDocumentLoader, OxigraphCanonicalizer, PyldCanonicalizer
from app.status.bitstring import status_entry
from bench.common import CONTEXTS_DIR

STATUS_LIST_URL = "http://127.0.0.1:8000/status-lists/6a0b7e1c-3f52-4f0e-9d7c-0c6b8d1f2a10"


@dataclass(frozen=True)
class Fixture:
    key: KeyPair
    did: str
    verification_method: str
    created: datetime
    unsigned: dict[str, Any]


#: The RDF canonicalizers the service can run with (``MICROCRED_CANONICALIZER``).
CANONICALIZERS = ("oxigraph", "pyld")


def data_integrity(canonicalizer: str, contexts: Path = CONTEXTS_DIR) -> DataIntegrity:
    """Our signing core as the service builds it, over the offline loader.

    ``oxigraph`` (the service's default) canonicalizes with pyoxigraph where it is proven equal to
    pyld and falls back to pyld elsewhere; ``pyld`` is pyld alone.
    """
    loader = OfflineDocumentLoader(contexts)
    if canonicalizer == "oxigraph":
        # remember=0: the in-process loops sign one document over and over, and the service's
        # memory of recent N-Quads (the signer reuses the SHACL check's) would answer them all.
        return DataIntegrity(OxigraphCanonicalizer(loader, remember=0))
    if canonicalizer == "pyld":
        return DataIntegrity(PyldCanonicalizer(loader))
    raise ValueError(f"unknown canonicalizer {canonicalizer!r}")


def make_fixture(key: KeyPair | None = None) -> Fixture:
    key = key or KeyPair.generate()
    did = did_key_from_public_key(key.public_key)
    created = datetime.now(UTC).replace(microsecond=0)
    micro = MicroCredentialIn.model_validate(example_request())
    issuer = dataclasses.replace(example_issuer(), did=did)
    unsigned = build_edc(
        micro,
        issuer,
        credential_id=f"urn:uuid:{uuid.uuid4()}",
        issued=created,
        status=[status_entry(STATUS_LIST_URL, 94_567, "revocation")],
        display_images=render_pages(micro, issuer),
    )
    return Fixture(
        key=key,
        did=did,
        verification_method=did_key_verification_method_id(did),
        created=created,
        unsigned=with_data_integrity_context(unsigned),
    )
