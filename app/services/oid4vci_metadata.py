"""Credential Issuer and Authorization Server metadata of OpenID4VCI (sections 12.2, 12.3).

What each issuer advertises to wallets: its endpoints and the credential configurations it
offers (Data Integrity signed ``ldp_vc`` for EDC and Open Badge 3.0, and the SD-JWT VC).
"""

from __future__ import annotations

from typing import Any

from app.credentials.edc import EDC_CONTEXT, STATUS_V1_CONTEXT
from app.credentials.obv3 import OB_CONTEXT
from app.crypto.dataintegrity import DATA_INTEGRITY_V2_CONTEXT, VC_V1_CONTEXT, VC_V2_CONTEXT
from app.db.models import Issuer
from app.jose import EDDSA
from app.services import sdjwt
from app.services.oid4vci import CONFIGURATION_IDS, PRE_AUTHORIZED_GRANT, IssuerUrls

CRYPTOSUITES = ["eddsa-rdfc-2022", "eddsa-jcs-2022"]

_DEFINITIONS: dict[str, dict[str, Any]] = {
    "edc": {
        "@context": [VC_V1_CONTEXT, EDC_CONTEXT, STATUS_V1_CONTEXT, DATA_INTEGRITY_V2_CONTEXT],
        "type": ["VerifiableCredential", "EuropeanDigitalCredential"],
    },
    "obv3": {
        "@context": [VC_V2_CONTEXT, OB_CONTEXT],
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
    },
}
_DISPLAY_NAMES = {
    "edc": "European Digital Credential for Learning (micro-credential)",
    "obv3": "Open Badge 3.0 (micro-credential)",
}


def credential_configuration(format: str) -> dict[str, Any]:
    """One entry of ``credential_configurations_supported`` (sections 12.2.4 and A.1.2)."""
    return {
        "format": "ldp_vc",
        "cryptographic_binding_methods_supported": ["did:key", "jwk"],
        "credential_signing_alg_values_supported": list(CRYPTOSUITES),
        "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": [EDDSA]}},
        "credential_definition": {
            "@context": list(_DEFINITIONS[format]["@context"]),
            "type": list(_DEFINITIONS[format]["type"]),
        },
        "credential_metadata": {"display": [{"name": _DISPLAY_NAMES[format], "locale": "en"}]},
    }


def issuer_metadata(issuer: Issuer, urls: IssuerUrls) -> dict[str, Any]:
    """Credential Issuer Metadata (section 12.2); no ``authorization_servers``: we are the AS."""
    return {
        "credential_issuer": urls.identifier,
        "credential_endpoint": urls.credential_endpoint,
        "nonce_endpoint": urls.nonce_endpoint,
        "display": [{"name": name, "locale": language} for language, name in issuer.name.items()],
        "credential_configurations_supported": {
            **{
                CONFIGURATION_IDS[format]: credential_configuration(format)
                for format in _DEFINITIONS
            },
            sdjwt.CONFIGURATION_ID: sdjwt.oid4vci_configuration(
                issuer, urls.identifier.removesuffix(f"/issuers/{issuer.slug}")
            ),
        },
    }


def authorization_server_metadata(urls: IssuerUrls) -> dict[str, Any]:
    """RFC 8414 metadata of the issuer's Authorization Server (OpenID4VCI section 12.3)."""
    return {
        "issuer": urls.identifier,
        "token_endpoint": urls.token_endpoint,
        "grant_types_supported": [PRE_AUTHORIZED_GRANT],
        "pre-authorized_grant_anonymous_access_supported": True,
        "token_endpoint_auth_methods_supported": ["none"],
        "authorization_details_types_supported": ["openid_credential"],
    }


# --- offers ------------------------------------------------------------------------------------
