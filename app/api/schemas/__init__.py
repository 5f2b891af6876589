"""The HTTP request and reply bodies, one module per router; names end in ``Request`` or
``Reply`` (parts of a body are named for what they are)."""
