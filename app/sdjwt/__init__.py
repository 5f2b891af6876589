"""SD-JWT (RFC 9901) and SD-JWT VC (media type ``dc+sd-jwt``) for EU micro-credentials.

:mod:`.core` makes, presents and checks SD-JWTs (disclosures, digests, key binding);
:mod:`.microcredential` maps the micro-credential model onto SD-JWT VC claims and its Type
Metadata. Pure: no database, no web framework, no settings.
"""
