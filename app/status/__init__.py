"""Bitstring Status List v1.0 (https://www.w3.org/TR/vc-bitstring-status-list/)."""

from app.problems import MALFORMED_VALUE_ERROR, RANGE_ERROR
from app.status.bitstring import (
    MIN_BITS,
    STATUS_LIST_LENGTH_ERROR,
    STATUS_RETRIEVAL_ERROR,
    STATUS_VERIFICATION_ERROR,
    Bitstring,
    StatusListError,
    check_status,
    status_entry,
    status_list_credential,
)

__all__ = [
    "MALFORMED_VALUE_ERROR",
    "MIN_BITS",
    "RANGE_ERROR",
    "STATUS_LIST_LENGTH_ERROR",
    "STATUS_RETRIEVAL_ERROR",
    "STATUS_VERIFICATION_ERROR",
    "Bitstring",
    "StatusListError",
    "check_status",
    "status_entry",
    "status_list_credential",
]
