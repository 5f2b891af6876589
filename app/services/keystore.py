"""Issuer private keys: sealed with the master key at rest, opened only in memory to sign.

Sealing is XChaCha20-Poly1305 (libsodium AEAD) with the verification method id as associated
data, so a ciphertext moved to another key row does not open. Layout: version ‖ nonce ‖ box.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from threading import Lock

from nacl import bindings
from nacl.exceptions import CryptoError

from app.crypto.keys import KeyPair

SEAL_VERSION = b"\x01"
NONCE_BYTES = bindings.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES


class KeyUnsealError(RuntimeError):
    """A stored key does not open with this master key (wrong key, or tampered row)."""


def seal_seed(master_key: bytes, seed: bytes, key_id: str) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    box = bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
        seed, key_id.encode("utf-8"), nonce, master_key
    )
    return SEAL_VERSION + nonce + box


def open_seed(master_key: bytes, sealed: bytes, key_id: str) -> bytes:
    if sealed[:1] != SEAL_VERSION:
        raise KeyUnsealError(f"unknown sealed-key version for {key_id}")
    nonce, box = sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :]
    try:
        return bytes(
            bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
                box, key_id.encode("utf-8"), nonce, master_key
            )
        )
    except CryptoError as exc:
        raise KeyUnsealError(f"the stored key {key_id} does not open with this master key") from exc


class KeyCache:
    """Opened key pairs per process (building one costs as much as a signature). Bounded LRU."""

    def __init__(self, master_key: bytes | None, capacity: int = 1024) -> None:
        self._master_key = master_key
        self._capacity = capacity
        self._keys: OrderedDict[str, KeyPair] = OrderedDict()
        self._lock = Lock()

    def key_pair(self, key_id: str, sealed: bytes) -> KeyPair:
        with self._lock:
            cached = self._keys.get(key_id)
            if cached is not None:
                self._keys.move_to_end(key_id)
                return cached
        if self._master_key is None:
            raise KeyUnsealError("no master key is configured (MICROCRED_MASTER_KEY)")
        pair = KeyPair(open_seed(self._master_key, sealed, key_id))
        with self._lock:
            self._keys[key_id] = pair
            while len(self._keys) > self._capacity:
                self._keys.popitem(last=False)
        return pair

    def forget(self, key_id: str) -> None:
        with self._lock:
            self._keys.pop(key_id, None)

    def __repr__(self) -> str:
        return f"KeyCache({len(self._keys)} keys)"
