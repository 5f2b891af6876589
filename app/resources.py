"""Files shipped inside the package, found through :mod:`importlib.resources`.

The JSON-LD contexts (``app/contexts/``), the Alembic migrations (``app/migrations/``) and the EDC
shapes and vocabularies (``app/credentials/data/``) are package data: an installed wheel finds
them in site-packages whatever the working directory, a checkout finds them in its tree.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


class PackageDataError(RuntimeError):
    """The package is not installed as plain files (for example run from a zip archive)."""


def package_path(*parts: str) -> Path:
    """The file or folder ``app/<parts...>`` on disk.

    Alembic and the context loader read folders, so the package must be installed as files (as
    pip installs a wheel); a zipped package is refused with a clear message.
    """
    resource = files("app").joinpath(*parts)
    if not isinstance(resource, Path):
        where = "/".join(("app", *parts))
        raise PackageDataError(f"microcred must be installed as files; {where} is not")
    return resource


CONTEXTS_DIR = package_path("contexts")
MIGRATIONS_DIR = package_path("migrations")
CREDENTIALS_DATA_DIR = package_path("credentials", "data")
