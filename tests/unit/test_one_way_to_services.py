"""Routes reach the running service one way: the typed state (app/state.py) through the
dependencies of app/api/deps.py; no router reads ``app.state`` attributes of its own."""

from __future__ import annotations

import re
from pathlib import Path

import app

APP = Path(app.__file__).parent
#: ``request.app.state.<attribute>`` or ``app.state.<attribute>``, other than the one state
_LOOSE = re.compile(r"\bapp\.state\.(?!services\b|AppState\b)\w+")


def test_no_module_reads_loose_app_state_attributes() -> None:
    loose = {
        str(path.relative_to(APP)): _LOOSE.findall(path.read_text(encoding="utf-8"))
        for path in APP.rglob("*.py")
    }
    assert {path: found for path, found in loose.items() if found} == {}


def test_routers_take_services_from_the_dependencies() -> None:
    readers = [
        str(path.relative_to(APP))
        for folder in (APP / "api", APP / "web")
        for path in folder.rglob("*.py")
        if path != APP / "api" / "deps.py"
        if "request.app" in path.read_text(encoding="utf-8")
    ]
    assert readers == []
