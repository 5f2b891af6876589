"""The HTTP request and reply bodies, one module per router; names end in ``Request`` or
``Reply`` (parts of a body are named for what they are). The admin bodies live in
:mod:`app.schemas`, outside the HTTP layer, because the ``microcred`` command reads them too."""
