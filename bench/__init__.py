"""Benchmarks for microcred: in-process signing, the service over HTTP, and a JavaScript peer.

``python -m bench`` (``make bench``) runs everything; ``python -m bench --quick`` is a smoke run.
See ``bench/README.md`` for what is measured, the latest figures and the goals.
"""
