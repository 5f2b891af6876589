"""Fixtures for the pure packages: the offline loader, the canonicalizer, Data Integrity, vectors.

The W3C EdDSA test vectors are in ``tests/data/testvectors/eddsa`` (see its README.md).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app import resources
from app.crypto.dataintegrity import DataIntegrity
from app.crypto.keys import KeyPair
from app.jsonld import OfflineDocumentLoader, PyldCanonicalizer

CONTEXTS_DIR = resources.CONTEXTS_DIR
TESTVECTORS_DIR = Path(__file__).resolve().parents[1] / "data" / "testvectors"
EDDSA_DIR = TESTVECTORS_DIR / "eddsa"

JsonReader = Callable[[str], Any]


@pytest.fixture(scope="session")
def now() -> datetime:
    """A fixed "current time" for verification, after every vector's ``created``."""
    return datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def contexts_dir() -> Path:
    return CONTEXTS_DIR


@pytest.fixture(scope="session")
def loader() -> OfflineDocumentLoader:
    return OfflineDocumentLoader(CONTEXTS_DIR)


@pytest.fixture(scope="session")
def canonicalizer(loader: OfflineDocumentLoader) -> PyldCanonicalizer:
    return PyldCanonicalizer(loader)


@pytest.fixture(scope="session")
def data_integrity(canonicalizer: PyldCanonicalizer) -> DataIntegrity:
    return DataIntegrity(canonicalizer)


@pytest.fixture(scope="session")
def eddsa_dir() -> Path:
    return EDDSA_DIR


@pytest.fixture(scope="session")
def read_vector(eddsa_dir: Path) -> JsonReader:
    """Parse a JSON file of the EdDSA vectors; every call returns a fresh object."""

    def read(relative_path: str) -> Any:
        return json.loads((eddsa_dir / relative_path).read_text(encoding="utf-8"))

    return read


@pytest.fixture(scope="session")
def vector_key(read_vector: JsonReader) -> KeyPair:
    """The key pair of ``keyPair.json`` (its secret is named ``privateKeyMultibase`` there)."""
    return KeyPair.from_secret_multibase(read_vector("keyPair.json")["privateKeyMultibase"])


@pytest.fixture(scope="session")
def vector_method(vector_key: KeyPair) -> str:
    """The verification method every single-key vector names."""
    multibase = vector_key.public_key_multibase
    return f"did:key:{multibase}#{multibase}"


@pytest.fixture
def network_attempts(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Refuse (and record) any attempt to resolve a host name or open a connection."""
    attempts: list[tuple[Any, ...]] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args)
        raise OSError("network access attempted during an offline test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts
