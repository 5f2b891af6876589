"""DID methods: did:key (offline) and did:web."""
