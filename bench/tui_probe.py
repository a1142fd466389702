"""TUI measurements (run by bench/run.py).

    python3 bench/tui_probe.py stream --lines 100000 --out res.json --log run.log

`stream`: the run screen's log view (screens/widgets/logview.py, the product widget, in a
tab as the run screen shows it, with header and footer) in a Textual app driven headless at
110x36. A worker thread pushes the lines as fast as it can, the way the run screen's
emit() pushes each output line from the runner's threads. Meanwhile a key press (a binding
that changes a label) is sent every 50 ms through the app's driver; its latency is the time
from sending it until the screen has been refreshed with the change. Written to --out:
stream time, time until every line is shown and on disk, latencies, lines kept on screen
and on disk, and the process's peak RSS.

`first_screen_tmux()`: `chatwizard` started in a tmux pane (a real terminal, 110x36); the
time from starting the process until the pane shows the hosts page with its buttons and
the footer.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SIZE = (110, 36)


def first_screen_tmux(env: dict, work: Path, args: tuple[str, ...] = (), timeout: float = 20) -> float:
    """Seconds from starting `chatwizard ARGS` in a tmux pane until the hosts page is drawn."""
    # a tmux server of its own (-L): never the engineer's, and no race with a server that is
    # still going away after the previous measurement
    sock = f"chatwizard-bench-{os.getpid()}-{next(_runs)}"
    tmux = ["tmux", "-L", sock, "-f", "/dev/null"]
    cmd = " ".join([sys.executable, "-m", "wizard.cli", *args])
    env_args = []
    for k in ("HOME", "PYTHONPATH", "CHATWIZARD_STATE_DIR", "CHATWIZARD_LOG_DIR"):
        env_args += ["-e", f"{k}={env[k]}"]
    subprocess.run([*tmux, "new-session", "-d", "-s", "bench", "-x", str(SIZE[0]), "-y", str(SIZE[1]),
                    *env_args, "-c", str(work), "cat"], check=True)
    try:
        t0 = time.perf_counter()
        subprocess.run([*tmux, "respawn-pane", "-k", "-t", "bench", cmd], check=True)
        while True:
            screen = subprocess.run([*tmux, "capture-pane", "-p", "-t", "bench"], capture_output=True,
                                    text=True).stdout
            if "Add host (a)" in screen and "Test connection (t)" in screen and "palette" in screen:
                return time.perf_counter() - t0
            if time.perf_counter() - t0 > timeout:
                raise RuntimeError("the first screen did not show within %g s:\n%s" % (timeout, screen))
            time.sleep(0.005)
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)


_runs = itertools.count()


def stream(lines: int, out: Path, log: Path, rate: float = 20_000) -> dict:
    from textual import events
    from textual.app import App, ComposeResult
    from textual.widgets import Footer, Header, Static, TabbedContent, TabPane

    from screens.widgets.logview import LogView

    class StreamApp(App):
        BINDINGS = [("x", "poke", "Poke")]

        def __init__(self):
            super().__init__()
            self.pokes = 0
            self.refreshed: list[float] = []

        def compose(self) -> ComposeResult:
            yield Header()
            yield Static("pokes: 0", id="pokes")
            with TabbedContent(id="logs"):
                with TabPane("chat1", id="tab-chat1"):
                    yield LogView(log, id="log-chat1")
                with TabPane("acd-lb1", id="tab-lb1"):
                    yield LogView(log.with_suffix(".lb1"), id="log-lb1")
            yield Footer()

        def action_poke(self) -> None:
            self.pokes += 1
            self.query_one("#pokes", Static).update(f"pokes: {self.pokes}")
            self.call_after_refresh(lambda: self.refreshed.append(time.perf_counter()))

    app = StreamApp()
    res: dict = {"lines": lines}

    async def phase(pilot, view, log_path: Path, rate: float) -> dict:
        """Push `lines` lines (at `rate` lines/s, 0: as fast as possible) while pressing a key
        every 50 ms; returns the timings of this phase."""
        done = threading.Event()
        timing = {}

        def producer():
            # what the run screen's emit() does for each OutputLine of the runner
            t0 = time.perf_counter()
            chunk = max(1, int(rate / 200)) if rate else lines
            i = 0
            while i < lines:
                for j in range(i, min(lines, i + chunk)):
                    view.push(f"  | [chat1] {j:06d} Installing : jdk1.8-1.8.0_202-fcs.x86_64 "
                              f"{'#' * (j % 40)}")
                i += chunk
                if rate:
                    delay = t0 + i / rate - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
            timing["stream_s"] = time.perf_counter() - t0
            done.set()

        latencies = []
        t_start = time.perf_counter()
        threading.Thread(target=producer, daemon=True).start()
        while not done.is_set():
            before = len(app.refreshed)
            t0 = time.perf_counter()
            app._driver.send_message(events.Key("x", "x"))
            while len(app.refreshed) == before:
                await asyncio.sleep(0.001)
            latencies.append(app.refreshed[-1] - t0)
            await asyncio.sleep(0.05)
        last = f"{lines - 1:06d}"          # until the view shows the last line
        while not any(last in line for line in view.lines[-3:]):
            await asyncio.sleep(0.005)
        lat = sorted(latencies)
        r = {"rate": rate, "stream_s": timing["stream_s"], "done_s": time.perf_counter() - t_start,
             "shown": view.line_count, "max_lines": view.max_lines, "total_pushed": view.total,
             "presses": len(lat),
             "key_p50_ms": lat[len(lat) // 2] * 1e3 if lat else None,
             "key_p95_ms": lat[min(len(lat) - 1, int(len(lat) * 0.95))] * 1e3 if lat else None,
             "key_max_ms": lat[-1] * 1e3 if lat else None}
        return r

    async def drive():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            res["max_rate"] = await phase(pilot, app.query_one("#log-chat1", LogView), log, 0)
            await pilot.press("right")
            res["paced"] = await phase(pilot, app.query_one("#log-lb1", LogView), log.with_suffix(".lb1"), rate)
        res["on_disk"] = sum(1 for _ in log.open(encoding="utf-8"))
        res["on_disk_paced"] = sum(1 for _ in log.with_suffix(".lb1").open(encoding="utf-8"))
        res["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    asyncio.run(drive())
    out.write_text(json.dumps(res))
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="what", required=True)
    s = sub.add_parser("stream")
    s.add_argument("--lines", type=int, default=100_000)
    s.add_argument("--out", required=True)
    s.add_argument("--log", required=True)
    s.add_argument("--rate", type=float, default=20_000, help="lines/s of the paced phase")
    a = ap.parse_args(argv)
    log = Path(a.log)
    for p in (log, log.with_suffix(".lb1")):
        if p.exists():
            p.unlink()
    res = stream(a.lines, Path(a.out), log, a.rate)
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
