"""A headless Chromium driven through the DevTools protocol over a pipe (standard library only).

Used to export figures as SVG/PNG offline (plotly.js's own ``Plotly.toImage`` running in the
browser) and to check the HTML report in a real browser. Chromium is started with
``--remote-debugging-pipe``: commands go in on file descriptor 3 and replies come out on
descriptor 4, each message a JSON object ended by a NUL byte, so no network port, web-socket
library or driver binary is needed.

The executable is taken from ``ADOR_BROWSER`` or ``BROWSER_PATH`` when set, else the first of
``chromium``, ``chromium-browser``, ``google-chrome``, ``google-chrome-stable``, ``chrome`` on
PATH.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from ador.errors import AdorError

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--disable-dev-shm-usage", "--mute-audio", "--hide-scrollbars",
    # WebGL (3-D scatter, parallel coordinates) on the CPU: without a GPU, recent Chromium
    # only offers SwiftShader when asked to.
    "--enable-unsafe-swiftshader", "--use-angle=swiftshader",
)


class BrowserError(AdorError):
    """No browser could be found or started, or it failed while rendering."""


def find_browser() -> str | None:
    """Path of a Chromium-family executable, or None."""
    for var in ("ADOR_BROWSER", "BROWSER_PATH"):
        value = os.environ.get(var)
        if value:
            path = shutil.which(value) or (value if os.access(value, os.X_OK) else None)
            if path:
                return path
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


def _high_fd(fd: int) -> int:
    """A copy of ``fd`` numbered 10 or above (close-on-exec), so that dup2 to 3/4 is safe."""
    new = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return new


class Browser:
    """One headless Chromium process with a fresh profile; use as a context manager."""

    def __init__(self, executable: str | None = None, *, timeout_s: float = 60.0,
                 window: tuple[int, int] = (1280, 900)) -> None:
        exe = executable or find_browser()
        if exe is None:
            raise BrowserError(
                "no Chromium/Chrome browser found (rule: set ADOR_BROWSER or BROWSER_PATH to "
                "its executable, or install one, e.g. apt-get install chromium)",
                field="browser")
        self.executable = exe
        self.timeout_s = timeout_s
        self.profile = tempfile.mkdtemp(prefix="ador-browser-")
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        to_child_r, to_child_w = _high_fd(to_child_r), _high_fd(to_child_w)
        from_child_r, from_child_w = _high_fd(from_child_r), _high_fd(from_child_w)

        def wire() -> None:  # runs in the child before exec
            os.dup2(to_child_r, 3)
            os.dup2(from_child_w, 4)

        args = [exe, *FLAGS, f"--user-data-dir={self.profile}",
                f"--window-size={window[0]},{window[1]}", "--remote-debugging-pipe",
                "about:blank"]
        try:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                         close_fds=False, preexec_fn=wire)
        except OSError as err:
            shutil.rmtree(self.profile, ignore_errors=True)
            raise BrowserError(f"cannot start the browser ({err.strerror})", field="browser",
                               value=exe) from err
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        self._out = to_child_w
        self._in = from_child_r
        self._next_id = 0
        self._lock = threading.Lock()
        self._cond = threading.Condition()
        self._replies: dict[int, dict] = {}
        self.events: deque[dict] = deque()
        self._closed = False
        self._stderr: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        self.session: str | None = None

    # -- plumbing ---------------------------------------------------------------------------
    def _drain_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in iter(self.proc.stderr.readline, b""):
            if len(self._stderr) < 200:
                self._stderr.append(line.decode("utf-8", "replace").rstrip())

    def _read(self) -> None:
        buf = b""
        while True:
            try:
                chunk = os.read(self._in, 1 << 20)
            except OSError:
                chunk = b""
            if not chunk:
                break
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                with self._cond:
                    if "id" in msg:
                        self._replies[msg["id"]] = msg
                    else:
                        self.events.append(msg)
                    self._cond.notify_all()
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def send(self, method: str, params: dict | None = None, *, session: bool = True,
             timeout_s: float | None = None) -> dict:
        """Send one command and wait for its result (raises BrowserError on a protocol error)."""
        with self._lock:
            self._next_id += 1
            msg_id = self._next_id
        msg: dict[str, Any] = {"id": msg_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        data = json.dumps(msg).encode() + b"\0"
        try:
            while data:
                data = data[os.write(self._out, data):]
        except OSError as err:
            raise self._died(method) from err
        deadline = time.monotonic() + (timeout_s or self.timeout_s)
        with self._cond:
            while msg_id not in self._replies:
                if self._closed:
                    raise self._died(method)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BrowserError(f"the browser did not answer {method} within "
                                       f"{timeout_s or self.timeout_s:.0f} s", field="browser",
                                       value=self.executable)
                self._cond.wait(left)
            reply = self._replies.pop(msg_id)
        if "error" in reply:
            raise BrowserError(f"{method} failed: {reply['error'].get('message')}",
                               field="browser", value=self.executable)
        return reply.get("result", {})

    def _died(self, method: str) -> BrowserError:
        tail = " | ".join(self._stderr[-3:])
        return BrowserError(f"the browser exited during {method}" + (f": {tail}" if tail else ""),
                            field="browser", value=self.executable)

    def wait_event(self, method: str, timeout_s: float | None = None) -> dict:
        """The first not yet consumed event called ``method`` (others stay queued)."""
        deadline = time.monotonic() + (timeout_s or self.timeout_s)
        with self._cond:
            while True:
                for ev in list(self.events):
                    if ev.get("method") == method:
                        self.events.remove(ev)
                        return ev
                left = deadline - time.monotonic()
                if self._closed:
                    raise self._died(f"wait for {method}")
                if left <= 0:
                    raise BrowserError(f"timed out waiting for {method}", field="browser",
                                       value=self.executable)
                self._cond.wait(left)

    # -- pages ------------------------------------------------------------------------------
    def open(self, url: str = "about:blank") -> None:
        """Open a new tab on ``url`` (after enabling page, runtime, log and network events)
        and wait for its load event."""
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)
        attached = self.send("Target.attachToTarget",
                             {"targetId": target["targetId"], "flatten": True}, session=False)
        self.session = attached["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")
        if url != "about:blank":
            self.navigate(url)

    def navigate(self, url: str) -> None:
        with self._cond:
            self.events = deque(e for e in self.events if e.get("method") != "Page.loadEventFired")
        result = self.send("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise BrowserError(f"cannot load {url}: {result['errorText']}", field="browser")
        self.wait_event("Page.loadEventFired")

    def evaluate(self, expression: str, *, timeout_s: float | None = None) -> Any:
        """Value of a JavaScript expression (promises awaited); a thrown error raises."""
        result = self.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                "returnByValue": True},
                           timeout_s=timeout_s)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise BrowserError(f"JavaScript error: {text}", field="browser")
        return result.get("result", {}).get("value")

    def screenshot(self, path: str | Path, *, full_page: bool = True) -> Path:
        """Write a PNG screenshot of the current page (the whole page by default)."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            params["captureBeyondViewport"] = True
            metrics = self.send("Page.getLayoutMetrics")
            size = metrics.get("cssContentSize") or metrics["contentSize"]
            params["clip"] = {"x": 0, "y": 0, "width": size["width"], "height": size["height"],
                              "scale": 1}
        data = self.send("Page.captureScreenshot", params)["data"]
        path = Path(path)
        path.write_bytes(base64.b64decode(data))
        return path

    def page_errors(self) -> list[str]:
        """Uncaught exceptions, console errors and error log entries seen so far."""
        out = []
        for ev in list(self.events):
            method, p = ev.get("method"), ev.get("params", {})
            if method == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                out.append(d.get("exception", {}).get("description") or d.get("text", "?"))
            elif method == "Runtime.consoleAPICalled" and p.get("type") == "error":
                out.append(" ".join(str(a.get("value", a.get("description", "")))
                                    for a in p.get("args", [])))
            elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.append(p["entry"].get("text", "?"))
        return out

    def requested_urls(self) -> list[str]:
        return [ev["params"]["request"]["url"] for ev in list(self.events)
                if ev.get("method") == "Network.requestWillBeSent"]

    # -- lifetime ---------------------------------------------------------------------------
    def close(self) -> None:
        try:
            if self.proc.poll() is None:
                with contextlib.suppress(AdorError):
                    self.send("Browser.close", session=False, timeout_s=5)
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=5)
        finally:
            for fd in (self._out, self._in):
                with contextlib.suppress(OSError):
                    os.close(fd)
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
