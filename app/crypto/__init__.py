"""Ed25519 keys, Multikey encoding and the Data Integrity cryptosuites (pure: no web, no DB)."""
