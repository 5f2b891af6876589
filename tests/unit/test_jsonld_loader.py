"""The offline document loader: every vendored context loads, nothing else does, and a changed
file stops the loader from being built."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from app.jsonld import (
    ContextIntegrityError,
    OfflineDocumentLoader,
    PyldCanonicalizer,
    UnknownContextError,
)
from app.resources import CONTEXTS_DIR

INDEX: dict[str, Any] = json.loads((CONTEXTS_DIR / "index.json").read_text(encoding="utf-8"))
MIRRORS = [
    (url, mirror["file"]) for url, meta in INDEX.items() for mirror in meta.get("mirrors", [])
]
#: Vendored for reference, but it imports https://www.w3.org/ns/odrl.jsonld, which is not.
IMPORTS_UNVENDORED = {"https://www.w3.org/2018/credentials/examples/v1"}


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def contexts_copy(tmp_path: Path, contexts_dir: Path) -> Path:
    copy = tmp_path / "contexts"
    shutil.copytree(contexts_dir, copy)
    return copy


def _flip_one_byte(path: Path) -> None:
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    path.write_bytes(bytes(raw))


# -- what loads ------------------------------------------------------------------------------


def test_loader_knows_exactly_the_urls_of_the_index(loader: OfflineDocumentLoader) -> None:
    assert loader.urls == frozenset(INDEX)


@pytest.mark.parametrize("url", list(INDEX))
def test_every_indexed_url_loads_its_file(url: str, loader: OfflineDocumentLoader) -> None:
    remote = loader(url, None)

    assert remote["documentUrl"] == url
    assert remote["contextUrl"] is None
    assert remote["document"] == _read_json(CONTEXTS_DIR / INDEX[url]["file"])
    assert "@context" in remote["document"]


@pytest.mark.parametrize("url", sorted(set(INDEX) - IMPORTS_UNVENDORED))
def test_every_indexed_context_is_processed_offline(
    url: str, canonicalizer: PyldCanonicalizer, network_attempts: list[tuple[Any, ...]]
) -> None:
    canonicalizer.expand({"@context": url, "@id": "urn:example:node"})
    assert network_attempts == []


@pytest.mark.parametrize("url", sorted(IMPORTS_UNVENDORED))
def test_context_importing_an_unvendored_context_cannot_be_processed(
    url: str, canonicalizer: PyldCanonicalizer, network_attempts: list[tuple[Any, ...]]
) -> None:
    with pytest.raises(UnknownContextError) as caught:
        canonicalizer.expand({"@context": url, "@id": "urn:example:node"})
    assert caught.value.url == "https://www.w3.org/ns/odrl.jsonld"
    assert network_attempts == []


@pytest.mark.parametrize(
    "url",
    [
        "https://www.w3.org/ns/credentials/v3",
        "http://www.w3.org/ns/credentials/v2",  # same path, other scheme
        "https://www.w3.org/ns/credentials/v2/",
        "https://www.w3.org/ns/odrl.jsonld",
        "",
    ],
)
def test_url_not_in_the_index_is_an_unknown_context(
    url: str, loader: OfflineDocumentLoader, network_attempts: list[tuple[Any, ...]]
) -> None:
    with pytest.raises(UnknownContextError) as caught:
        loader(url, None)
    assert caught.value.url == url
    assert network_attempts == []


# -- integrity -------------------------------------------------------------------------------


@pytest.mark.parametrize("url", list(INDEX))
def test_index_records_the_sha256_of_every_file(url: str) -> None:
    entries = [INDEX[url], *INDEX[url].get("mirrors", [])]
    for entry in entries:
        digest = hashlib.sha256((CONTEXTS_DIR / entry["file"]).read_bytes()).hexdigest()
        assert digest == entry["sha256"], entry["file"]


@pytest.mark.parametrize(("url", "mirror"), MIRRORS)
def test_mirror_is_json_equal_to_its_primary_file(url: str, mirror: str) -> None:
    primary = CONTEXTS_DIR / INDEX[url]["file"]
    assert _read_json(CONTEXTS_DIR / mirror) == _read_json(primary)


def test_unchanged_copy_of_the_contexts_loads(contexts_copy: Path) -> None:
    """Control for the integrity tests below: the copy itself is fine."""
    assert OfflineDocumentLoader(contexts_copy).urls == frozenset(INDEX)


@pytest.mark.parametrize(
    "relative_file",
    [meta["file"] for meta in INDEX.values()] + [mirror for _, mirror in MIRRORS],
)
def test_one_changed_byte_in_any_context_file_stops_the_loader(
    relative_file: str, contexts_copy: Path
) -> None:
    _flip_one_byte(contexts_copy / relative_file)

    with pytest.raises(ContextIntegrityError, match="sha256"):
        OfflineDocumentLoader(contexts_copy)


def test_missing_context_file_stops_the_loader(contexts_copy: Path) -> None:
    (contexts_copy / INDEX["https://www.w3.org/ns/credentials/v2"]["file"]).unlink()

    with pytest.raises(ContextIntegrityError, match="missing"):
        OfflineDocumentLoader(contexts_copy)


def test_mirror_with_other_content_stops_the_loader_even_with_its_sha256_recorded(
    contexts_copy: Path,
) -> None:
    url, mirror = MIRRORS[0]
    content = _read_json(contexts_copy / mirror)
    content["differs"] = True
    raw = json.dumps(content).encode("utf-8")
    (contexts_copy / mirror).write_bytes(raw)
    index = _read_json(contexts_copy / "index.json")
    [entry] = [m for m in index[url]["mirrors"] if m["file"] == mirror]
    entry["sha256"] = hashlib.sha256(raw).hexdigest()
    (contexts_copy / "index.json").write_text(json.dumps(index), encoding="utf-8")

    with pytest.raises(ContextIntegrityError, match="differs"):
        OfflineDocumentLoader(contexts_copy)
