"""The HTML report in a real browser: headless Chromium driven over the DevTools protocol.

Needs the Debian packages ``chromium`` (and, for other tools, ``chromium-driver``);
skipped when no Chromium binary is found. Set ``CHROMIUM=/path/to/chrome`` to
choose the binary. No selenium: the DevTools protocol runs over a pipe
(``--remote-debugging-pipe``: Chromium reads NUL-terminated JSON commands on
fd 3 and writes replies and events on fd 4).

What is checked, on a report with a failing optimizer (diverging trajectories),
a passing run, every figure kind and hostile target text:

* no console errors, no uncaught exceptions, no CSP violations;
* no network request besides the file itself (DevTools ``Network`` events and
  the page's resource timing both empty), no ``<script>``;
* every SVG inside an open check has a non-zero rendered size;
* the failing check's row, its numbers and its trajectory plot are on the
  first screen (1280 x 900);
* the screenshot PNG is not blank (pixel variance, several distinct colours).

Run ``python tests/test_report_browser.py REPORT.html OUT.png`` to take a
screenshot of any report with the same machinery.
"""

from __future__ import annotations

import base64
import io
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.chromium

WIDTH, HEIGHT = 1280, 900
TIMEOUT = 30.0


def find_chromium() -> str | None:
    env = os.environ.get("CHROMIUM")
    if env:
        return env if shutil.which(env) or os.path.exists(env) else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    """A headless Chromium and one page, spoken to over the DevTools pipe."""

    def __init__(self, binary: str, width: int = WIDTH, height: int = HEIGHT):
        self.profile = tempfile.mkdtemp(prefix="dlverify-chromium-")
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        args = [
            binary, "--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
            "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-default-apps", "--disable-extensions", "--disable-features=Translate,MediaRouter",
            "--mute-audio", "--hide-scrollbars", f"--user-data-dir={self.profile}",
            f"--window-size={width},{height}", "about:blank",
        ]
        # fds 3 and 4 in the child are the protocol pipe; bash puts them there (dash cannot
        # redirect from descriptors above 9)
        shell = f'exec "$@" 3<&{to_child_r} 4>&{from_child_w}'
        bash = shutil.which("bash") or "/bin/bash"
        self.proc = subprocess.Popen([bash, "-c", shell, "bash", *args], pass_fds=(to_child_r, from_child_w),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        os.close(to_child_r)
        os.close(from_child_w)
        self._buf = b""
        self._id = 0
        self.events: list[dict] = []
        self.session: str | None = None
        self.width, self.height = width, height

    # -- protocol ---------------------------------------------------------
    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from Chromium")
            ready, _, _ = select.select([self._from_child], [], [], left)
            if ready:
                chunk = os.read(self._from_child, 1 << 20)
                if not chunk:
                    err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                    raise RuntimeError(f"Chromium closed the DevTools pipe: {err[-2000:]}")
                self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def send(self, method: str, params: dict | None = None, *, session: bool = True,
             timeout: float = TIMEOUT) -> dict:
        self._id += 1
        msg: dict = {"id": self._id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self._to_child, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, method: str, timeout: float = TIMEOUT) -> dict:
        for e in self.events:
            if e.get("method") == method:
                return e
        deadline = time.monotonic() + timeout
        while True:
            e = self._read_message(deadline)
            self.events.append(e)
            if e.get("method") == method:
                return e

    # -- page ---------------------------------------------------------------
    def open(self, url: str) -> None:
        """Load ``url`` in the page (attaching to it first); events start afresh."""
        if self.session is None:
            targets = self.send("Target.getTargets", session=False)["targetInfos"]
            page = next((t for t in targets if t["type"] == "page"), None)
            target_id = page["targetId"] if page else self.send(
                "Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
            self.session = self.send("Target.attachToTarget", {"targetId": target_id, "flatten": True},
                                     session=False)["sessionId"]
            for domain in ("Page", "Runtime", "Log", "Network"):
                self.send(f"{domain}.enable")
            self.send("Emulation.setDeviceMetricsOverride",
                      {"width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": False})
        self.events.clear()
        self.send("Page.navigate", {"url": url})
        self.wait_event("Page.loadEventFired")
        self.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")

    def evaluate(self, expression: str):
        res = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in res:
            raise RuntimeError(f"evaluate failed: {res['exceptionDetails']}")
        return res["result"].get("value")

    def screenshot(self) -> bytes:
        return base64.b64decode(self.send("Page.captureScreenshot", {"format": "png"})["data"])

    def drain(self, seconds: float = 0.2) -> None:
        """Collect events that arrive shortly after the load (late console messages)."""
        deadline = time.monotonic() + seconds
        try:
            while True:
                self.events.append(self._read_message(deadline))
        except TimeoutError:
            pass

    def close(self) -> None:
        try:
            self.send("Browser.close", session=False, timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_child, self._from_child):
            try:
                os.close(fd)
            except OSError:
                pass
        if self.proc.stderr:
            self.proc.stderr.close()
        shutil.rmtree(self.profile, ignore_errors=True)

    # -- what happened --------------------------------------------------------
    def console_errors(self) -> list[str]:
        out = []
        for e in self.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append(json.dumps(p.get("args", []))[:500])
            elif m == "Runtime.exceptionThrown":
                out.append(json.dumps(p.get("exceptionDetails", {}))[:500])
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.append(p["entry"].get("text", "")[:500])
        return out

    def requests(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]


def png_pixels(data: bytes):
    """The screenshot as an (h, w, channels) float array (matplotlib reads PNG)."""
    import matplotlib.image

    return matplotlib.image.imread(io.BytesIO(data), format="png")


def screenshot(html_path: str, png_path: str, width: int = WIDTH, height: int = HEIGHT, full: bool = False,
               open_all: bool = False) -> None:
    binary = find_chromium()
    if not binary:
        raise SystemExit("no chromium found")
    b = Browser(binary, width, height)
    try:
        b.open(Path(html_path).resolve().as_uri())
        if open_all:
            b.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        if full:
            h = int(b.evaluate("document.documentElement.scrollHeight"))
            b.send("Emulation.setDeviceMetricsOverride",
                   {"width": width, "height": min(h, 16000), "deviceScaleFactor": 1, "mobile": False})
        Path(png_path).write_bytes(b.screenshot())
        errors = b.console_errors()
        if errors:
            print("console errors:", *errors, sep="\n  ")
    finally:
        b.close()


# --------------------------------------------------------------------------
# the test
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """Two reports loaded in one browser: the full sample, and a failing optimizer on its own."""
    binary = find_chromium()
    if not binary:
        pytest.skip("no Chromium binary (install the Debian packages chromium and chromium-driver, or set CHROMIUM)")
    from test_report import optimizer_report, sample_report  # tests/ is on sys.path under pytest

    from verify.report import write_html

    out = {}
    b = Browser(binary)
    try:
        for name, report in (("sample", sample_report()), ("optimizer", optimizer_report())):
            path = tmp_path_factory.mktemp("browser") / f"{name}.html"
            write_html(report, str(path))
            url = path.resolve().as_uri()
            b.open(url)
            b.drain(0.3)
            out[name] = {"url": url, "facts": b.evaluate(_FACTS_JS), "png": b.screenshot(),
                         "errors": b.console_errors(), "requests": b.requests(),
                         "dialogs": [e for e in b.events if e.get("method") == "Page.javascriptDialogOpening"]}
        yield out
    finally:
        b.close()


_FACTS_JS = r"""
(() => {
  const box = el => { const r = el.getBoundingClientRect(); return {top: r.top, left: r.left, width: r.width, height: r.height}; };
  const openSvgs = [...document.querySelectorAll('details[open] svg.plot')];
  const firstProblem = document.querySelector('details.check.problem');
  const firstProblemSvg = firstProblem ? firstProblem.querySelector('svg.plot') : null;
  return {
    scripts: document.querySelectorAll('script').length,
    links: document.querySelectorAll('link, iframe, object, embed, img, image, use').length,
    resources: performance.getEntriesByType('resource').map(e => e.name),
    svgs: document.querySelectorAll('svg.plot').length,
    openSvgs: openSvgs.map(box),
    openSeriesPaths: openSvgs.map(s => s.querySelectorAll('path.series').length),
    firstProblem: firstProblem ? {id: firstProblem.id, open: firstProblem.open,
      summary: box(firstProblem.querySelector('summary')),
      text: firstProblem.querySelector('summary').innerText} : null,
    firstProblemSvg: firstProblemSvg ? box(firstProblemSvg) : null,
    firstProblemMarker: firstProblemSvg && firstProblemSvg.querySelector('g.marker') ?
      box(firstProblemSvg.querySelector('g.marker')) : null,
    firstProblemLink: document.querySelector('ol.problems li') ? {
      text: document.querySelector('ol.problems li').innerText,
      box: box(document.querySelector('ol.problems li'))} : null,
    alerts: window.__pwned || 0,
    viewport: {w: innerWidth, h: innerHeight},
    title: document.title,
  };
})()
"""


@pytest.mark.parametrize("name", ["sample", "optimizer"])
def test_no_console_errors_no_dialogs(pages, name):
    assert pages[name]["errors"] == []
    assert pages[name]["dialogs"] == []  # the hostile alert(1) never ran


@pytest.mark.parametrize("name", ["sample", "optimizer"])
def test_no_network_requests(pages, name):
    page = pages[name]
    assert [u for u in page["requests"] if u != page["url"]] == []
    assert page["requests"] == [page["url"]]  # the events were recorded: the document itself is there
    facts = page["facts"]
    assert facts["resources"] == []
    assert facts["scripts"] == 0
    assert facts["links"] == 0
    assert facts["alerts"] == 0


def test_plots_are_visible(pages):
    facts = pages["sample"]["facts"]
    assert facts["svgs"] >= 9
    assert len(facts["openSvgs"]) >= 4, "plots of failing checks are expanded"
    for box in facts["openSvgs"]:
        assert box["width"] > 300 and box["height"] > 200, box
    assert all(n >= 1 for n in facts["openSeriesPaths"])


def test_problems_listed_on_first_screen(pages):
    """Several runs: the list of problems (check, where, headline, numbers) is on the first screen."""
    facts = pages["sample"]["facts"]
    first = facts["firstProblemLink"]
    assert first is not None
    assert "trajectory-vs-reference" in first["text"] and "max relative error 0.2" in first["text"]
    assert first["box"]["top"] + first["box"]["height"] <= HEIGHT


def test_failing_optimizer_on_first_screen(pages):
    """One failing optimizer: which check, by how much and where the trajectories part, unscrolled."""
    facts = pages["optimizer"]["facts"]
    first = facts["firstProblem"]
    assert first is not None and first["open"]
    assert "trajectory leaves the reference at step 12" in first["text"]
    assert "max relative error 0.2" in first["text"]
    assert first["summary"]["top"] + first["summary"]["height"] <= HEIGHT
    svg = facts["firstProblemSvg"]
    assert svg is not None
    # the whole plot area (the legend may be below the fold) is on the first screen
    assert svg["top"] >= 0 and svg["top"] + 0.8 * svg["height"] <= HEIGHT, svg
    assert facts["firstProblemMarker"] is not None  # the "trajectories part" marker is drawn
    assert facts["firstProblemMarker"]["top"] < HEIGHT


@pytest.mark.parametrize("name", ["sample", "optimizer"])
def test_screenshot_not_blank(pages, name):
    img = png_pixels(pages[name]["png"])
    assert img.shape[0] == HEIGHT and img.shape[1] == WIDTH
    rgb = img[..., :3]
    assert float(rgb.std()) > 0.05
    colours = {tuple(c) for c in (rgb[::7, ::7].reshape(-1, 3) * 255).astype(int).tolist()}
    assert len(colours) > 20
    # the failing verdict's red header is there
    red = (rgb[..., 0] > 0.7) & (rgb[..., 1] < 0.25) & (rgb[..., 2] < 0.3)
    assert red.sum() > 1000
    if os.environ.get("REPORT_SCREENSHOT_DIR"):
        Path(os.environ["REPORT_SCREENSHOT_DIR"], f"{name}.png").write_bytes(pages[name]["png"])


if __name__ == "__main__":  # python tests/test_report_browser.py REPORT.html OUT.png [--full] [--open-all]
    screenshot(sys.argv[1], sys.argv[2], full="--full" in sys.argv, open_all="--open-all" in sys.argv)


# --------------------------------------------------------------------------
# layout at scale: many specs, failing initialiser and optimizer, every check open
# --------------------------------------------------------------------------


def too_narrow_he(shape, rng):
    """He initialisation with fan_in taken from the wrong axis of a (fan_in, fan_out) layout."""
    import numpy as np

    return rng.normal(0.0, np.sqrt(2.0 / shape[-1]), size=shape)


class AdamEpsInside:
    """Adam with ε inside the square root."""

    def __init__(self, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.0):
        self.lr, self.b1, self.b2, self.eps, self.wd = lr, b1, b2, eps, weight_decay
        self.m = self.v = None
        self.t = 0

    def step(self, w, g):
        import numpy as np

        g = g + self.wd * w
        if self.m is None:
            self.m, self.v = np.zeros_like(w), np.zeros_like(w)
        self.t += 1
        self.m = self.b1 * self.m + (1 - self.b1) * g
        self.v = self.b2 * self.v + (1 - self.b2) * g * g
        return w - self.lr * (self.m / (1 - self.b1 ** self.t)) / np.sqrt(self.v / (1 - self.b2 ** self.t) + self.eps)


_LAYOUT_JS = r"""
(() => {
  const box = el => el.getBoundingClientRect();
  const overlap = (a, b) => Math.min(a.right, b.right) - Math.max(a.left, b.left) > 1 &&
                            Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 1;
  const name = el => el.tagName.toLowerCase() + (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ').join('.') : '');
  const overlaps = [];
  for (const d of document.querySelectorAll('details.check[open] .detail')) {
    const blocks = [...d.querySelectorAll(':scope > .info > *, :scope > .wide > *, :scope > .figs > figure')].filter(e => box(e).height > 0);
    for (let i = 0; i < blocks.length; i++)
      for (let j = i + 1; j < blocks.length; j++)
        if (overlap(box(blocks[i]), box(blocks[j]))) overlaps.push(name(blocks[i]) + ' / ' + name(blocks[j]));
  }
  const clipped = [];
  for (const el of document.querySelectorAll('main *')) {
    const s = getComputedStyle(el);
    if (['hidden', 'clip', 'auto', 'scroll'].includes(s.overflowX) && el.scrollWidth > el.clientWidth + 1)
      clipped.push(name(el) + ' ' + el.scrollWidth + '>' + el.clientWidth);
    const r = box(el);
    if (r.width > 0 && r.right > innerWidth + 1) clipped.push(name(el) + ' ends at ' + Math.round(r.right));
    if (el.parentElement && r.width > 0 && ['TABLE', 'PRE', 'FIGURE'].includes(el.tagName)) {
      const p = box(el.parentElement);
      if (r.right > p.right + 1) clipped.push(name(el) + ' overflows its parent by ' + Math.round(r.right - p.right));
    }
  }
  return {pageWidth: document.documentElement.scrollWidth, viewport: innerWidth, overlaps, clipped,
          open: document.querySelectorAll('details[open]').length,
          matrixRows: document.querySelectorAll('table.matrix tbody tr').length};
})()
"""


def test_layout_of_a_large_report_at_1280_pixels(tmp_path):
    """34 specs, a failing initialiser (statistical tests beside a histogram) and a failing optimizer,
    every check opened: nothing overlaps, nothing is clipped, the page never scrolls sideways."""
    binary = find_chromium()
    if not binary:
        pytest.skip("no Chromium binary (install the Debian packages chromium and chromium-driver, or set CHROMIUM)")
    import copy

    from verify.api import check_conforms
    from verify.report import write_html
    from verify.results import Report
    from verify.specs import SPEC_NAMES

    from verify.specs import get_spec

    fast = {"max_examples": 5, "timeout": None}
    # one real run per family (and adam's), copied under the other specs' names: the layout is what is tested
    first = {}
    for spec in SPEC_NAMES:
        first.setdefault(get_spec(spec).family, spec)
    real = {spec: check_conforms("reference", spec, **fast) for spec in (*first.values(), "adam")}
    runs = []
    for spec in SPEC_NAMES:
        run = real.get(spec) or copy.deepcopy(real[first[get_spec(spec).family]])
        run.spec = spec
        runs.append(run)
    runs.append(check_conforms(too_narrow_he, "init-he", **fast))
    runs.append(check_conforms(AdamEpsInside, "adam", **fast))
    # more specs than the tool has today, as a report of the future would
    for i, extra in enumerate(("adafactor", "sophia", "muon", "shampoo")):
        run = copy.deepcopy(runs[i])
        run.spec = extra
        runs.append(run)
    report = Report(runs=runs, tool_version="0", created="now")
    assert len({r.spec for r in report.runs}) >= 22
    path = tmp_path / "large.html"
    write_html(report, str(path))
    b = Browser(binary, WIDTH, HEIGHT)
    try:
        b.open(path.resolve().as_uri())
        b.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        b.drain(0.3)
        facts = b.evaluate(_LAYOUT_JS)
        errors = b.console_errors()
    finally:
        b.close()
    assert errors == []
    assert facts["open"] > 150
    assert facts["matrixRows"] >= 22
    assert facts["pageWidth"] <= facts["viewport"], facts["pageWidth"]
    assert facts["overlaps"] == []
    assert facts["clipped"] == []
