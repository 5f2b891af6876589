"""Orchestration: issuers and keys, issuance, verification, status."""
