"""EU micro-credentials: request model, vocabularies, EDC and Open Badges 3.0 builders.

Pure package (no web framework, database or settings). Public entry points:

* :class:`app.credentials.microcredential.MicroCredentialIn`, :class:`~app.credentials.
  microcredential.IssuerProfile` — the request body and the issuing university;
* :func:`app.credentials.edc.build_edc`, :func:`app.credentials.obv3.build_obv3` — unsigned
  credentials in the two shapes;
* :func:`app.credentials.shacl.validate_edc` — EDC SHACL validation (offline);
* :func:`app.credentials.profile.missing_eu_elements` — EU elements a credential lacks;
* :func:`app.credentials.render.render_pages` — the display page images;
* :func:`app.credentials.vocabularies.vocabularies` — the EU controlled vocabularies.

Modules are imported one by one (pyshacl and Pillow are only loaded by those that need them).
"""
