"""The built wheel stands alone: installed into a fresh venv, it migrates, serves, issues an EDC
and verifies it from a working directory that has nothing of the source tree.

The wheel is built from a copy of what it is made of (``pyproject.toml``, ``README.md``,
``app/``), so the build leaves nothing in the checkout. The fresh venv gets the wheel alone
(``--no-deps --no-index``); the dependencies are this venv's, the versions the suite just tested,
reached through a ``.pth`` line naming this venv's site-packages. That directory's own ``.pth``
files (among them the editable install's finder, which would import ``app`` from the checkout)
are not run for a directory named that way, and the test checks that ``app`` is imported from
the fresh venv.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.config import new_master_key
from app.credentials.examples import example_request
from tests import processes
from tests.api.test_serve import free_port
from tests.conftest import ADMIN_TOKEN
from tests.factories import bearer, issuer_body

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.wheel


def _build_wheel(tmp_path: Path) -> Path:
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "app", source / "app", ignore=shutil.ignore_patterns("__pycache__"))
    dist = tmp_path / "dist"
    built = processes.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(source)],
        timeout=300,
        cwd=tmp_path,
    )
    assert built.returncode == 0, built.stderr
    [wheel] = dist.glob("microcred-*.whl")
    return wheel


def _fresh_venv(tmp_path: Path, wheel: Path) -> Path:
    venv = tmp_path / "venv"
    made = processes.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], timeout=120)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    installed = processes.run(
        [
            sys.executable,
            *("-m", "pip", "--python", str(python), "install", "-q"),
            *("--no-deps", "--no-index", str(wheel)),
        ],
        timeout=120,
    )
    assert installed.returncode == 0, installed.stderr
    site_packages = processes.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], timeout=60
    ).stdout.strip()
    ours = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (Path(site_packages) / "microcred-test-dependencies.pth").write_text(
        "".join(f"{path}\n" for path in sorted(ours))
    )
    return venv


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed; its ``bin`` folder."""
    tmp_path = tmp_path_factory.mktemp("wheel")
    return _fresh_venv(tmp_path, _build_wheel(tmp_path)) / "bin"


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MICROCRED_")}
    env.update(
        MICROCRED_ENV="production",
        MICROCRED_ADMIN_TOKEN=ADMIN_TOKEN,
        MICROCRED_MASTER_KEY=new_master_key(),
        MICROCRED_PUBLIC_URL="https://credentials.example.edu",
        MICROCRED_LOG_LEVEL="WARNING",
    )
    return env


def test_the_package_is_imported_from_the_fresh_venv(installed: Path, tmp_path: Path) -> None:
    found = processes.run(
        [str(installed / "python"), "-c", "import app.resources as r; print(r.CONTEXTS_DIR)"],
        timeout=60,
        cwd=tmp_path,
    )
    assert found.returncode == 0, found.stderr
    contexts = Path(found.stdout.strip())
    assert contexts.is_relative_to(installed.parent / "lib"), contexts
    assert (contexts / "index.json").is_file()


@pytest.fixture
def served(installed: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """``microcred migrate`` then ``microcred serve`` from the wheel, in an empty folder."""
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    env = _environment()
    migrated = processes.run([str(installed / "microcred"), "migrate"], 120, cwd=workdir, env=env)
    assert migrated.returncode == 0, migrated.stderr
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    process = processes.start(
        [str(installed / "microcred"), "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if httpx.get(url + "/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the installed service did not get ready"
            time.sleep(0.3)
        yield url, workdir
    finally:
        processes.stop(process)
        log.close()


def test_the_installed_wheel_serves_issues_and_verifies_an_edc(
    served: tuple[str, Path], installed: Path
) -> None:
    url, workdir = served
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=url, timeout=60) as http:
        issuer = http.post("/admin/issuers", json=issuer_body("uni-wheel"), headers=admin)
        assert issuer.status_code == 201, issuer.text
        key = http.post(
            "/admin/issuers/uni-wheel/api-keys",
            json={"name": "records", "scopes": ["credentials:issue"]},
            headers=admin,
        )
        assert key.status_code == 201, key.text
        issued = http.post("/microcredentials", json=example_request(), headers=bearer(key.json()))
        assert issued.status_code == 201, issued.text
        credential = issued.json()["verifiableCredential"]
        assert credential["issuer"]["id"] == issuer.json()["did"]
        verified = http.post("/credentials/verify", json={"verifiableCredential": credential})
        assert verified.status_code == 200, verified.text
        assert verified.json()["verified"] is True

        credential["credentialSubject"]["id"] = "did:example:someone-else"
        tampered = http.post("/credentials/verify", json={"verifiableCredential": credential})
        assert tampered.status_code == 422, json.dumps(tampered.json())
    # The database is in the data folder of the working directory, not in the installed package.
    assert (workdir / "data" / "microcred.db").is_file()
    assert not list(installed.parent.rglob("*.db"))
