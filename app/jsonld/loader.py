"""A JSON-LD document loader that answers only from the vendored ``app/contexts/`` folder.

``index.json`` maps each URL to ``{file, sha256, mirrors?}``. Every file is hashed when the loader
is built, so a changed context stops the service at start-up instead of changing signatures.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from app.jsonld.errors import ContextIntegrityError, UnknownContextError


@dataclass(frozen=True)
class ContextFile:
    url: str
    file: str
    sha256: str


def _read_verified(directory: Path, entry: ContextFile) -> bytes:
    path = directory / entry.file
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ContextIntegrityError(f"context file {entry.file} ({entry.url}) is missing") from exc
    digest = hashlib.sha256(raw).hexdigest()
    if digest != entry.sha256:
        raise ContextIntegrityError(
            f"context file {entry.file} for {entry.url} has sha256 {digest}, "
            f"index.json says {entry.sha256}"
        )
    return raw


class OfflineDocumentLoader:
    """Callable in pyld's ``documentLoader`` shape; raises :class:`UnknownContextError`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        index = json.loads((directory / "index.json").read_text(encoding="utf-8"))
        documents: dict[str, Any] = {}
        self.files: list[ContextFile] = []
        for url, meta in index.items():
            primary = ContextFile(url, meta["file"], meta["sha256"])
            documents[url] = json.loads(_read_verified(directory, primary))
            self.files.append(primary)
            for mirror in meta.get("mirrors", []):
                copy = ContextFile(url, mirror["file"], mirror["sha256"])
                if json.loads(_read_verified(directory, copy)) != documents[url]:
                    raise ContextIntegrityError(f"mirror {copy.file} differs in content from {url}")
                self.files.append(copy)
        self._documents: Mapping[str, Any] = MappingProxyType(documents)

    @property
    def urls(self) -> frozenset[str]:
        return frozenset(self._documents)

    def document(self, url: str) -> Any:
        try:
            return self._documents[url]
        except KeyError:
            raise UnknownContextError(url) from None

    def __call__(self, url: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return {
            "contextUrl": None,
            "documentUrl": url,
            "contentType": "application/ld+json",
            "document": self.document(url),
        }
