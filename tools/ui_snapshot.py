"""Open a web page in headless Chromium, wait for text, expand the MLflow runs table, screenshot it.

    python -m tools.ui_snapshot 'http://127.0.0.1:5000/#/experiments/1/runs' --expect grpo-workspace \\
        --expand --png docs/images/mlflow_ui.png

Prints the page's visible text. Drives Chromium over its DevTools protocol (a websocket, through
aiohttp, which the client already uses): ``--dump-dom`` alone cannot click, and the MLflow runs table
shows a parent run's nested runs only once its row is expanded. Used for the README's screenshot and
by tests/unit/test_mlflow_ui.py. Needs a Chromium binary (Debian: ``apt-get install chromium``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import shutil
import signal
import tempfile
import time
from base64 import b64decode
from pathlib import Path

import aiohttp

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# The expander of a parent run: the one button in the run-name cell of MLflow's runs table (ag-grid).
EXPAND_PARENTS = 'div[col-id="attributes.`Run Name`"] button'


def find_chromium() -> str | None:
    """$CHROMIUM, else the first Chromium or Chrome on PATH; None when there is none."""
    return os.environ.get("CHROMIUM") or next((p for b in BROWSERS if (p := shutil.which(b))), None)


class DevTools:
    """One page's DevTools session: ``await page("Domain.method", **params)`` -> the result."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse):
        self.ws, self.ids = ws, itertools.count(1)

    async def __call__(self, method: str, **params) -> dict:
        n = next(self.ids)
        await self.ws.send_json({"id": n, "method": method, "params": params})
        async for msg in self.ws:  # events arrive in between: skip them
            data = msg.json()
            if data.get("id") == n:
                if "error" in data:
                    raise RuntimeError(f"{method}: {data['error']}")
                return data.get("result", {})
        raise RuntimeError(f"{method}: the browser closed the connection")

    async def text(self) -> str:
        result = await self("Runtime.evaluate", expression="document.body ? document.body.innerText : ''",
                            returnByValue=True)
        return result["result"].get("value") or ""

    async def wait_for(self, wanted: list[str], deadline: float) -> str:
        """The page text once it holds every string of ``wanted``; TimeoutError naming the missing ones."""
        while True:
            text = await self.text()
            missing = [w for w in wanted if w not in text]
            if not missing:
                return text
            if time.monotonic() > deadline:
                raise TimeoutError(f"the page never showed {missing}; it shows: {text[:400]!r}")
            await asyncio.sleep(0.5)


async def _debugger_port(profile: Path, proc: asyncio.subprocess.Process, deadline: float) -> int:
    port_file = profile / "DevToolsActivePort"  # Chromium writes it once --remote-debugging-port=0 is bound
    while not (port_file.exists() and port_file.read_text().strip()):
        if proc.returncode is not None:
            raise RuntimeError(f"chromium exited with {proc.returncode} before opening its debugging port")
        if time.monotonic() > deadline:
            raise TimeoutError("chromium did not open its debugging port")
        await asyncio.sleep(0.2)
    return int(port_file.read_text().split()[0])


async def snapshot(url: str, expect: list[str], *, expand: list[str] | None = None, png: Path | None = None,
                   size: tuple[int, int] = (1600, 900), timeout_s: float = 120.0,
                   browser: str | None = None, script: str | None = None) -> list[str]:
    """Open ``url``, wait until the text holds ``expect``; with ``expand``, click every parent run's expander
    and wait for those strings too; run ``script`` (JavaScript: e.g. close a side panel) and write a PNG
    of the viewport if asked. Returns the page's text as
    loaded and, with ``expand``, as expanded."""
    browser = browser or find_chromium()
    if browser is None:
        raise FileNotFoundError("no chromium binary (apt-get install chromium, or set CHROMIUM)")
    deadline = time.monotonic() + timeout_s
    # ignore_cleanup_errors: a last resort only; _stop waits for every Chromium process first
    with tempfile.TemporaryDirectory(prefix="kardia-chromium-", ignore_cleanup_errors=True) as profile:
        proc = await asyncio.create_subprocess_exec(
            browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--hide-scrollbars", "--remote-debugging-port=0", f"--user-data-dir={profile}",
            f"--window-size={size[0]},{size[1]}", "about:blank",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL, start_new_session=True)
        try:
            port = await _debugger_port(Path(profile), proc, deadline)
            async with aiohttp.ClientSession() as session:
                async with session.get(f"http://127.0.0.1:{port}/json/list") as r:
                    target = next(t for t in await r.json() if t.get("type") == "page")
                async with session.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                    page = DevTools(ws)
                    await page("Emulation.setDeviceMetricsOverride", width=size[0], height=size[1],
                               deviceScaleFactor=1, mobile=False)
                    await page("Page.navigate", url=url)
                    texts = [await page.wait_for(expect, deadline)]
                    if expand is not None:
                        await page("Runtime.evaluate", expression=(
                            f"document.querySelectorAll({EXPAND_PARENTS!r}).forEach(b => b.click())"))
                        texts.append(await page.wait_for(expect + expand, deadline))
                    if script:
                        await page("Runtime.evaluate", expression=script)
                    if png is not None:
                        await asyncio.sleep(1.0)  # let the last rows paint
                        shot = await page("Page.captureScreenshot", format="png")
                        png.parent.mkdir(parents=True, exist_ok=True)
                        tmp = png.with_suffix(".png.tmp")
                        tmp.write_bytes(b64decode(shot["data"]))
                        tmp.replace(png)  # atomic: never a half-written image
                    return texts
        finally:
            await _stop(proc)


async def _stop(proc, timeout_s: float = 10.0) -> None:
    """End Chromium and the helpers it started (renderer, utility, crashpad: its own process group)
    and wait until all are gone: a helper that outlives the browser by a moment, still writing into the
    profile, made removing the profile fail ("Directory not empty") on a loaded machine."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if proc.returncode is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(proc.wait(), 0.1)
                continue
            try:
                os.killpg(proc.pid, 0)   # any process of the group left?
            except ProcessLookupError:
                return
            await asyncio.sleep(0.1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.ui_snapshot", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url")
    parser.add_argument("--expect", action="append", default=[], help="text to wait for (repeatable)")
    parser.add_argument("--expand", action="store_true", help="expand every parent run, then wait for --expect-child")
    parser.add_argument("--expect-child", action="append", default=[], help="text shown once expanded (repeatable)")
    parser.add_argument("--png", type=Path, help="write a screenshot of the viewport here")
    parser.add_argument("--js", help="JavaScript to run on the page before the screenshot")
    parser.add_argument("--size", default="1600x900", help="viewport WIDTHxHEIGHT (default 1600x900)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds for everything (default 120)")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    texts = asyncio.run(snapshot(args.url, args.expect, expand=args.expect_child if args.expand else None,
                                 png=args.png, size=(width, height), timeout_s=args.timeout,
                                 script=args.js))
    print(texts[-1])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
