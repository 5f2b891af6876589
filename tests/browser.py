"""A headless Chromium driven over the DevTools protocol (no driver, no JavaScript in the page):
open a page, pick a file for an ``<input type=file>``, press keys, read the DOM, take a
screenshot. The browser can reach 127.0.0.1 only."""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from tests import processes

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: Every host name resolves to nothing but 127.0.0.1, and what is not loopback goes to a closed
#: proxy port.
NO_NETWORK = [
    "--proxy-server=socks5://127.0.0.1:9",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


class Browser:
    def __init__(self, tmp_path: Path) -> None:
        if CHROMIUM is None:
            if os.environ.get("CI") == "true":
                pytest.fail("CI needs chromium (.ci/run installs it)")
            pytest.skip("chromium is not installed (apt-get install chromium)")
        profile = tmp_path / "chromium-profile"
        command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
        command += ["--remote-debugging-port=0", f"--user-data-dir={profile}", *NO_NETWORK]
        command += ["--window-size=1000,1300", "--hide-scrollbars", "about:blank"]
        env = {**os.environ, "HOME": str(tmp_path)}
        env.update(XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_CACHE_HOME=str(tmp_path / "cache"))
        self.log = (tmp_path / "chromium.log").open("wb")
        self.process = processes.start(command, env=env, stdout=self.log, stderr=self.log)
        self._ids = itertools.count(1)
        self.socket: ClientConnection | None = None
        self._stack = ExitStack()
        try:
            port = self._port(profile / "DevToolsActivePort")
            target = httpx.put(f"http://127.0.0.1:{port}/json/new?about:blank", timeout=10).json()
            self.socket = self._stack.enter_context(
                connect(target["webSocketDebuggerUrl"], max_size=None, open_timeout=10)
            )
            self.send("Page.enable")
            self.send("Network.enable")
        except BaseException:
            self.close()
            raise

    def _port(self, active: Path) -> int:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "chromium exited"
            if active.exists() and active.read_text().strip():
                return int(active.read_text().split()[0])
            time.sleep(0.1)
        raise AssertionError("chromium did not open its DevTools port")

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Run one DevTools command; its result (events meanwhile are dropped)."""
        assert self.socket is not None
        ident = next(self._ids)
        self.socket.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=60))
            if message.get("id") == ident:
                assert "error" not in message, (method, message["error"])
                result: dict[str, Any] = message.get("result", {})
                return result

    def wait_for(self, event: str, timeout: float = 60) -> None:
        assert self.socket is not None
        deadline = time.monotonic() + timeout
        while True:
            message = json.loads(self.socket.recv(timeout=max(0.1, deadline - time.monotonic())))
            if message.get("method") == event:
                return

    def open(self, url: str, language: str = "en") -> None:
        self.send("Network.setExtraHTTPHeaders", headers={"Accept-Language": language})
        self.send("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")

    def node(self, selector: str) -> int:
        root = self.send("DOM.getDocument", depth=0)["root"]["nodeId"]
        node: int = self.send("DOM.querySelector", nodeId=root, selector=selector)["nodeId"]
        assert node, f"no {selector} on the page"
        return node

    def attribute(self, selector: str, name: str) -> str | None:
        attributes = self.send("DOM.getAttributes", nodeId=self.node(selector))["attributes"]
        found = dict(zip(attributes[::2], attributes[1::2], strict=True))
        return found.get(name)

    def html(self, selector: str = "html") -> str:
        outer: str = self.send("DOM.getOuterHTML", nodeId=self.node(selector))["outerHTML"]
        return outer

    def choose_file(self, selector: str, path: Path) -> None:
        self.send("DOM.setFileInputFiles", nodeId=self.node(selector), files=[str(path)])

    def focus(self, selector: str) -> None:
        self.send("DOM.focus", nodeId=self.node(selector))

    def press(self, key: str, code: int) -> None:
        """Press and release a key on what has the focus (e.g. Enter, 13; a character, such
        as "6", 54, types it: on a closed <select> it picks the option that starts with it)."""
        text = "\r" if key == "Enter" else key if len(key) == 1 else ""
        common = {"key": key, "code": key, "windowsVirtualKeyCode": code}
        self.send("Input.dispatchKeyEvent", type="keyDown", text=text, **common)
        self.send("Input.dispatchKeyEvent", type="keyUp", **common)

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript ``expression`` in the page (for a page that runs script)."""
        reply = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in reply, reply["exceptionDetails"]
        return reply["result"].get("value")

    def wait_until(self, expression: str, timeout: float = 30) -> None:
        """Wait until ``expression`` is true in the page (the page's own script changes it)."""
        deadline = time.monotonic() + timeout
        while not self.evaluate(expression):
            assert time.monotonic() < deadline, f"still false after {timeout} s: {expression}"
            time.sleep(0.2)

    def screenshot(self, path: Path) -> Path:
        data = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.write_bytes(base64.b64decode(data["data"]))
        return path

    def close(self) -> None:
        self._stack.close()
        processes.stop(self.process)
        self.log.close()
