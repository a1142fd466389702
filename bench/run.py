"""Speed figures of the chat-role wizard, each against its target, measured in one run.

    sudo python3 bench/run.py                  # everything (about 5 minutes on 2 cores)
    sudo python3 bench/run.py --quick          # one repetition of each, fewer samples (< 60 s)
    python3 bench/run.py --quick --dry         # no timing: checks that the bench itself works
    sudo python3 bench/run.py --only replay --only overhead --reps 5 --json out.json

Sections (docs/benchmarks.md defines each figure precisely):

replay    `chatwizard apply answers/centos7-https-whatsapp.yaml --yes` on five fresh CentOS 7
          test hosts, against (a) the physical limit (the same operations' own run time on
          the hosts plus one SSH round trip each) and (b) a plain shell script running the
          same operations with `ssh host cmd` (a new connection each).
overhead  per-command overhead of the wizard's persistent connection (loopback and veth).
cluster   the same change (the per-server sections) on 1, 2, 4, 8 test hosts at once.
tui       time to the first screen; 100,000 log lines streamed into the run log view.
pyinfra   the same sample site installed by an idiomatic pyinfra deploy (bench/pyinfra_site),
          first install and no-change replay, against `chatwizard apply`; end states compared.

Test hosts (tests/testhost) need root. Every timed run uses freshly started hosts; the
kinds of runs alternate so that a drift of the machine's speed hits all of them alike, and
ratios are taken run by run (pair by pair), then the median is quoted.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import sample_site as ss  # noqa: E402  (sets up sys.path for tests/ too)

SECTIONS = ("replay", "overhead", "cluster", "tui", "pyinfra")
# issue 5's targets, and issue 12's (which tightened the overhead and the first screen)
TARGETS = {
    "replay_vs_limit": ("wizard / (a) physical limit", "<=", 1.2),
    "plain_vs_replay": ("(b) plain ssh script / wizard", ">=", 3.0),
    "first_op_s": ("before the first command reaches a host (s)", "<=", 0.5),
    "detect_round_trips": ("detection round trips per host (max)", "<=", 2),
    "overhead_ms_loopback": ("per-command overhead, loopback (ms)", "<=", 3.0),
    "cluster_8_vs_1": ("8 hosts / 1 host", "<=", 1.5),
    "pyinfra_first": ("first install: pyinfra / wizard", ">=", 1.5),
    "pyinfra_replay": ("no-change replay: pyinfra / wizard", ">=", 2.0),
    "tui_first_screen_s": ("time to the first screen (s)", "<=", 0.5),
    "tui_key_latency_ms": ("key-press latency while streaming, p95 (ms)", "<", 100.0),
    "tui_peak_rss_mb": ("peak RSS streaming 100,000 lines (MB)", "<", 200.0),
}


# ------------------------------------------------------------------ helpers

def med(xs):
    return statistics.median(xs) if xs else float("nan")


def spread(xs, unit="s", scale=1.0, fmt="{:.2f}"):
    if not xs:
        return "n/a"
    m = fmt.format(med(xs) * scale)
    if len(xs) == 1:
        return f"{m} {unit}".strip()
    return f"{m} {unit} [{fmt.format(min(xs) * scale)}–{fmt.format(max(xs) * scale)}]"


def verdict(key, value) -> str:
    _, op, target = TARGETS[key]
    ok = value <= target if op == "<=" else value >= target if op == ">=" else value < target
    return "met" if ok else "MISSED"


class Out:
    """Prints as it goes and keeps everything for --json."""

    def __init__(self):
        self.results: dict = {"figures": {}, "details": {}}

    def say(self, text=""):
        print(text, flush=True)

    def figure(self, key, value, shown, detail=""):
        name, op, target = TARGETS[key]
        v = verdict(key, value)
        self.results["figures"][key] = {"value": value, "target": f"{op} {target:g}", "verdict": v}
        self.say(f"  {name:<46} {shown:<28} target {op} {target:g}: {v}{('  ' + detail) if detail else ''}")


def timed_cli(engineer, *args) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    p = engineer.cli(*args)
    return time.perf_counter() - t0, p


# ------------------------------------------------------------------ replay

def bench_replay(out: Out, work: Path, reps: int, quick: bool) -> None:
    from testhost import HostFactory

    from bench import replay
    out.say("\n== replay: answers/centos7-https-whatsapp.yaml, unattended, on 5 fresh test hosts")
    eng = ss.Engineer(work / "engineer")
    api = ss.Standin(work / "tyntec")
    eng.vars["SSL_CERT_FILE"] = api.cert
    factory = HostFactory()
    try:
        eng.secret("db/root", ss.DB_PASSWORD)
        eng.secret("tyntec/apikey", ss.TYNTEC_KEY)
        answers = ss.sample_answers(work / "site.yaml", api.base)

        def fresh_site():
            api.reset()
            site = ss.Site.start(factory, eng, work)
            eng.ssh_config(site.by_address())
            return site

        # 1. the operations of a real run, recorded
        site = fresh_site()
        rec_path = work / "recorded.json"
        t0 = time.perf_counter()
        p = subprocess.run([sys.executable, str(ROOT / "bench" / "record.py"), str(rec_path), "apply",
                            str(answers), "--yes"], env=eng.vars, cwd=eng.home, capture_output=True,
                           text=True, timeout=600)
        rec_wall = time.perf_counter() - t0
        site.stop()
        if p.returncode != 0:
            raise RuntimeError(f"recorded run failed ({p.returncode}):\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
        rec = json.loads(rec_path.read_text())
        ops = rec["ops"]
        # the recorder's clock starts once the interpreter runs; add the interpreter's start
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        rec["first_op_s"] = min(o["t0"] for o in ops) + (time.perf_counter() - t0)
        kinds = {}
        for o in ops:
            kinds[o["kind"]] = kinds.get(o["kind"], 0) + 1
        out.say(f"  recorded run: {len(ops)} operations ({', '.join(f'{v} {k}' for k, v in sorted(kinds.items()))}); "
                f"{rec['counts']['connects']} SSH connections, {rec['counts']['channels']} channels, "
                f"{rec['counts']['sftp_requests']} SFTP requests")
        out.results["details"]["replay_recorded"] = {
            "ops": len(ops), "kinds": kinds, "counts": rec["counts"], "phases": rec["phases"],
            "wall_s": rec["wall_s"]}
        for ph in rec["phases"]:
            out.say(f"    phase {ph['phase']:<26} {ph['wall_s'] * 1000:7.0f} ms")
        script = replay.write_script(ops, work, ssh_config=eng.config, cafile=api.cert,
                                     addresses={**{n: a for n, (a, _) in ss.sample_hosts().items()}})

        wiz, plain, plain_c, lim, lim_parts = [], [], [], [], []
        curve = "-o KexAlgorithms=curve25519-sha256"

        def run_plain(opts: str) -> float:
            api.reset()
            t0 = time.perf_counter()
            subprocess.run(["bash", str(script)], check=True, timeout=900,
                           env=dict(os.environ, BENCH_SSH_OPTS=opts))
            return time.perf_counter() - t0

        def run_limit(site) -> dict:
            api.reset()
            own = replay.own_times(site, ops, work)
            https = replay.http_times(ops, api.cert)
            rtt = replay.ssh_round_trip(site.hosts["chat1"])
            parts = replay.limit(own, https, rtt)
            lim.append(parts["total_s"])
            lim_parts.append(parts)
            return parts

        if quick:
            # the recorded run is the wizard's timing; (b) is estimated from `ssh host true`
            wiz.append(rec_wall)
            site = fresh_site()
            try:
                parts = run_limit(site)
                cost = []
                for _ in range(7):
                    t0 = time.perf_counter()
                    subprocess.run(["ssh", "-F", str(eng.config), "-o", "BatchMode=yes", "-T",
                                    ss.sample_hosts()["chat1"][0], "true"], check=True)
                    cost.append(time.perf_counter() - t0)
            finally:
                site.stop()
            plain.append(parts["own_s"] + parts["http_s"] + parts["ops"] * med(cost))
            out.say(f"  quick: wizard = the recorded run {wiz[-1]:.2f} s (whole process, recording on); "
                    f"(b) estimated as own time + {parts['ops']} x `ssh host true` ({med(cost) * 1e3:.0f} ms)")
        for rep in range(0 if quick else reps):
            order = ["wizard", "plain", "limit", "plain-curve25519"]
            for kind in order[rep % 4:] + order[:rep % 4]:
                site = fresh_site()
                try:
                    if kind == "wizard":
                        t, p = timed_cli(eng, "apply", answers, "--yes")
                        if p.returncode != 0 or "Done:" not in p.stdout:
                            raise RuntimeError(f"wizard run failed ({p.returncode}): {p.stderr[-2000:]}")
                        wiz.append(t)
                    elif kind == "plain":
                        plain.append(run_plain(""))
                    elif kind == "plain-curve25519":
                        plain_c.append(run_plain(curve))
                    else:
                        run_limit(site)
                finally:
                    site.stop()
            out.say(f"  rep {rep + 1}: wizard {wiz[-1]:.2f} s, (a) limit {lim[-1]:.2f} s, "
                    f"(b) plain ssh {plain[-1]:.2f} s, with curve25519 {plain_c[-1]:.2f} s")
        r_lim = [w / a for w, a in zip(wiz, lim)]
        r_plain = [b / w for w, b in zip(wiz, plain)]
        last = lim_parts[-1]
        out.say(f"  wizard (whole `chatwizard apply --yes` process)  {spread(wiz)}")
        out.say(f"  (a) limit = own {spread([x['own_s'] for x in lim_parts])} + "
                f"{last['ops']} x round trip {med([x['rtt_s'] for x in lim_parts]) * 1e3:.3f} ms + "
                f"{last['http']} HTTP {med([x['http_s'] for x in lim_parts]) * 1e3:.1f} ms = {spread(lim)}")
        out.say(f"  (b) plain `ssh host cmd` script                  {spread(plain)}"
                + (" (estimated)" if quick else ""))
        if plain_c:
            out.say(f"  (b) with -o KexAlgorithms=curve25519-sha256      {spread(plain_c)} "
                    f"(the key exchange the wizard uses)")
        fixed = rec["first_op_s"]
        out.say(f"  before its first command reaches a host the wizard spends {fixed:.2f} s "
                f"(recorded run: start, imports, keyring, {rec['counts']['connects']} SSH handshakes); "
                f"from the first operation to the end {rec_wall - fixed:.2f} s")
        out.figure("first_op_s", fixed, f"{fixed:.2f} s", "(recorded run, recording on)")
        trips, planning = detection_trips(rec)
        out.figure("detect_round_trips", max(trips.values()), f"{max(trips.values())}",
                   "(" + ", ".join(f"{h} {n}" for h, n in trips.items()) + "; planning then sent "
                   f"{planning['reads']} reads and {planning['checks']} checks with input)")
        out.results["details"]["replay_detection"] = {"round_trips": trips, "planning": planning}
        out.figure("replay_vs_limit", med(r_lim), spread(r_lim, "x"))
        out.figure("plain_vs_replay", med(r_plain), spread(r_plain, "x"),
                   "(estimated)" if quick else "")
        if plain_c:
            r_c = [b / w for w, b in zip(wiz, plain_c)]
            out.say(f"  {'(b) with curve25519 / wizard':<46} {spread(r_c, 'x')}")
        out.results["details"]["replay"] = {"wizard_s": wiz, "limit_s": lim, "plain_s": plain,
                                            "plain_curve25519_s": plain_c, "limit_parts": lim_parts,
                                            "quick": quick}
    finally:
        factory.stop_all()
        api.stop()


def detection_trips(rec: dict) -> tuple[dict[str, int], dict[str, int]]:
    """Operations each host was sent during the recorded run's first detection, and during
    its planning: reads (a command without input, a file read) and checks with input."""
    ph = {p["phase"]: p for p in reversed(rec["phases"])}        # the first of each phase
    det, plan = ph["detect"], ph["plan"]

    def within(o, p):
        return p["t0"] <= o["t0"] < p["t0"] + p["wall_s"]
    trips: dict[str, int] = {}
    for o in rec["ops"]:
        if o["kind"] in ("exec", "read") and within(o, det):
            trips[o["host"]] = trips.get(o["host"], 0) + 1
    planning = {"reads": 0, "checks": 0}
    for o in rec["ops"]:
        if o["kind"] in ("exec", "read") and within(o, plan):
            planning["checks" if o.get("stdin") else "reads"] += 1
    return trips, planning


# ------------------------------------------------------------------ per-command overhead

def bench_overhead(out: Out, work: Path, n: int, dry: bool) -> None:
    from testhost import HostFactory

    from bench import replay
    from wizard.transport.base import HostSpec
    from wizard.transport.ssh import SSHTransport
    out.say(f"\n== overhead: `true` on the wizard's persistent connection, {n} times")
    if dry:
        return
    factory = HostFactory()
    try:
        hosts = {"loopback": factory("centos7", netns=False), "veth": factory("centos7")}
        for where, th in hosts.items():
            spec = HostSpec("bench", th.host, port=th.port, user="root", key_file=th.key_path,
                            roles=("CHAT",))
            t = SSHTransport(spec, known_hosts_paths=[th.known_hosts_path],
                             tool_known_hosts=str(work / "known_hosts"),
                             ssh_config_path=str(work / "no-ssh-config"), allow_agent=False)
            try:
                for _ in range(20):
                    t.run("true")
                wall = []
                for _ in range(n):
                    t0 = time.perf_counter()
                    t.run("true")
                    wall.append(time.perf_counter() - t0)
                # the same without the wizard: a bare paramiko channel on the same connection
                raw = []
                pt = t.paramiko_transport
                for _ in range(n):
                    t0 = time.perf_counter()
                    ch = pt.open_session()
                    ch.exec_command("true")
                    ch.recv_exit_status()
                    ch.close()
                    raw.append(time.perf_counter() - t0)
            finally:
                t.close()
            own = replay.own_times(_OneHost(th), [{"host": "h", "kind": "exec", "command": "true",
                                                   "t0": i, "seq": i} for i in range(n)], work)["own_s"]
            rtt = replay.ssh_round_trip(th, n)
            overhead = med(wall) - med(own)
            ssh_new = []
            cfg = work / f"ssh-config-{where}"
            cfg.write_text(th.ssh_config_block("h") + "    LogLevel ERROR\n")
            for _ in range(max(5, n // 20)):
                t0 = time.perf_counter()
                subprocess.run(["ssh", "-F", str(cfg), "-o", "BatchMode=yes", "-T", "h", "true"], check=True)
                ssh_new.append(time.perf_counter() - t0)
            out.say(f"  {where:<8} ({th.host}:{th.port}): wizard run('true') {med(wall) * 1e3:.2f} ms, "
                    f"bare paramiko channel {med(raw) * 1e3:.2f} ms, own time in the host "
                    f"{med(own) * 1e3:.2f} ms, SSH round trip {rtt * 1e3:.3f} ms, `ssh host true` "
                    f"(new connection) {med(ssh_new) * 1e3:.1f} ms")
            out.results["details"][f"overhead_{where}"] = {
                "wizard_ms": med(wall) * 1e3, "bare_channel_ms": med(raw) * 1e3,
                "own_ms": med(own) * 1e3, "rtt_ms": rtt * 1e3, "ssh_new_ms": med(ssh_new) * 1e3,
                "overhead_ms": overhead * 1e3,
                "wizard_p90_ms": sorted(wall)[int(len(wall) * 0.9)] * 1e3}
            if where == "loopback":
                out.figure("overhead_ms_loopback", overhead * 1e3, f"{overhead * 1e3:.2f} ms",
                           "(= wizard run − own time)")
            else:
                out.say(f"  {'per-command overhead, veth (ms)':<46} {overhead * 1e3:.2f} ms")
    finally:
        factory.stop_all()


class _OneHost:
    def __init__(self, th):
        self.hosts = {"h": th}


# ------------------------------------------------------------------ cluster

CLUSTER_SIZES = (1, 2, 4, 8)


def cluster_answers(path: Path, n: int) -> Path:
    hosts = "\n".join(f"    chat{i}: {{address: chat{i}, user: root, roles: [CHAT]}}" for i in range(1, n + 1))
    path.write_text(f"""version: 1
# the per-server sections of the CHAT role (Java 8, ClientMessenger, daemon, update script,
# firewall) on {n} chat server(s)
inventory:
  hosts:
{hosts}
portal: {{version: "3.26", scheme: https, load_balancer: jtel-portal}}
daemon: {{db_host: acd-dbm, db_password: "keyring:db/root", timezone: Europe/Berlin, datadir: auto}}
sections: {{skip: [hazelcast, load_balancer]}}
""")
    return path


def cpu_busy():
    """Machine-wide CPU use over a with-block: a callable giving the busy fraction after."""
    def read():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v), v[3] + v[4]              # total, idle + iowait
    t0, i0 = read()

    def busy():
        t1, i1 = read()
        return 1 - (i1 - i0) / max(1, t1 - t0)
    return busy


def parallel_limit(ths: list, ops: list[dict], work: Path) -> float:
    """Wall time of the recorded one-host operations run inside every host at once (the
    in-host driver, no SSH): what this machine allows for that work on len(ths) hosts."""
    from concurrent.futures import ThreadPoolExecutor

    from bench import replay
    t0 = time.perf_counter()
    with ThreadPoolExecutor(len(ths)) as pool:
        list(pool.map(lambda th: replay.own_times(_OneHost(th), ops, work), ths))
    return time.perf_counter() - t0


def bench_cluster(out: Out, work: Path, reps: int, sizes, parallels, dry: bool,
                  with_limit: bool = True) -> None:
    from testhost import HostFactory
    out.say(f"\n== cluster: the per-server sections (Java 8, ClientMessenger, daemon, update script, "
            f"firewall) on {', '.join(map(str, sizes))} fresh test hosts at once")
    eng = ss.Engineer(work / "engineer-cluster")
    files = {n: cluster_answers(work / f"cluster-{n}.yaml", n) for n in sizes}
    if dry:
        from wizard import answers
        for n, f in files.items():
            answers.load(str(f))
        return
    eng.secret("db/root", ss.DB_PASSWORD)
    factory = HostFactory()

    def hosts(n):
        ths = factory.many(n, "centos7")
        for th in ths:
            eng.authorize(th)
        eng.ssh_config({f"chat{i + 1}": th for i, th in enumerate(ths)})
        return ths

    times = {(p, n): [] for p in parallels for n in sizes}
    busy = {(p, n): [] for p in parallels for n in sizes}
    limits = {n: [] for n in (sizes[0], sizes[-1])} if with_limit else {}
    ops = []
    try:
        # one host's operations, recorded, for the in-host limit
        ths = hosts(1) if with_limit else []
        rec = work / "cluster-recorded.json"
        if with_limit:
            p = subprocess.run([sys.executable, str(ROOT / "bench" / "record.py"), str(rec), "apply",
                                str(files[sizes[0]]), "--yes"], env=eng.vars, cwd=eng.home,
                               capture_output=True, text=True, timeout=600)
            for th in ths:
                th.stop()
            if p.returncode != 0:
                raise RuntimeError(f"recorded cluster run failed: {p.stderr[-2000:]}")
            ops = [dict(o, host="h") for o in json.loads(rec.read_text())["ops"] if o["kind"] != "http"]
        for rep in range(reps):
            order = [(par, n) for par in parallels for n in sizes] + [("limit", n) for n in limits]
            if rep % 2:
                order.reverse()
            for par, n in order:
                ths = hosts(n)
                try:
                    if par == "limit":
                        limits[n].append(parallel_limit(ths, ops, work))
                        continue
                    meter = cpu_busy()
                    t, p = timed_cli(eng, "apply", files[n], "--yes", "--parallel", str(par))
                    busy[(par, n)].append(meter())
                    if p.returncode != 0 or "Done:" not in p.stdout:
                        raise RuntimeError(f"cluster run n={n} failed ({p.returncode}): {p.stderr[-2000:]}")
                    times[(par, n)].append(t)
                finally:
                    for th in ths:
                        th.stop()
            out.say(f"  rep {rep + 1}: " + "; ".join(
                f"--parallel {par}: " + ", ".join(f"{n}: {times[(par, n)][-1]:.2f} s" for n in sizes)
                for par in parallels) + "; in-host limit " +
                (", ".join(f"{n}: {v[-1]:.2f} s" for n, v in limits.items()) or "not measured (quick)"))
        lo, hi = sizes[0], sizes[-1]
        for par in parallels:
            base = times[(par, lo)]
            for n in sizes[1:]:
                ratio = [x / b for x, b in zip(times[(par, n)], base)]
                shown = spread(ratio, "x")
                detail = (f"{n} hosts {spread(times[(par, n)])} vs 1 host {spread(base)}; machine CPU "
                          f"busy {med(busy[(par, n)]) * 100:.0f}% (1 host: {med(busy[(par, lo)]) * 100:.0f}%)")
                if n == hi and par == parallels[0]:
                    out.figure("cluster_8_vs_1", med(ratio), shown, f"(--parallel {par}) {detail}")
                else:
                    out.say(f"  {f'{n} hosts / 1 host, --parallel {par}':<46} {shown:<28} {detail}")
        if limits:
            lim_ratio = [b / a for a, b in zip(limits[lo], limits[hi])]
            out.say(f"  {f'in-host limit, {hi} hosts / 1 host':<46} {spread(lim_ratio, 'x'):<28} "
                    f"(the same commands run inside the hosts at once, no SSH: {spread(limits[hi])} vs "
                    f"{spread(limits[lo])})")
        out.results["details"]["cluster"] = {
            "times": {f"{p}/{n}": v for (p, n), v in times.items()},
            "cpu_busy": {f"{p}/{n}": v for (p, n), v in busy.items()},
            "limit": {str(n): v for n, v in limits.items()}, "ops_per_host": len(ops)}
    finally:
        factory.stop_all()


# ------------------------------------------------------------------ TUI

def bench_tui(out: Out, work: Path, reps: int, lines: int, dry: bool, streams: int = 2,
              rate: int = 20_000) -> None:
    out.say(f"\n== tui: first screen (tmux, real terminal), {lines:,} log lines into the run log view")
    probe = ROOT / "bench" / "tui_probe.py"
    env = dict(os.environ, PYTHONPATH=str(ROOT), HOME=str(work / "tui-home"),
               CHATWIZARD_STATE_DIR=str(work / "tui-state"), CHATWIZARD_LOG_DIR=str(work / "tui-log"))
    (work / "tui-home").mkdir(exist_ok=True)
    if dry:
        p = subprocess.run([sys.executable, str(probe), "stream", "--lines", "2000", "--out",
                            str(work / "tui-dry.json"), "--log", str(work / "tui-dry.log")],
                           env=env, capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            raise RuntimeError(f"tui probe failed: {p.stderr[-2000:]}")
        return
    from bench import tui_probe
    first = [tui_probe.first_screen_tmux(env, work) for _ in range(reps)]
    out.figure("tui_first_screen_s", med(first), spread(first), "(`chatwizard`, until the hosts page shows)")
    prefilled = [tui_probe.first_screen_tmux(env, work, ("--answers", str(ss.SAMPLE))) for _ in range(reps)]
    out.say(f"  {'… with --answers (the sample, prefilled)':<46} {spread(prefilled)}")
    res = []
    for i in range(streams):
        o = work / f"tui-stream-{i}.json"
        p = subprocess.run([sys.executable, str(probe), "stream", "--lines", str(lines), "--out", str(o),
                            "--log", str(work / f"tui-stream-{i}.log"), "--rate", str(rate)],
                           env=env, capture_output=True, text=True, timeout=600)
        if p.returncode != 0:
            raise RuntimeError(f"tui probe failed: {p.stderr[-3000:]}")
        res.append(json.loads(o.read_text()))
    mx = [x["max_rate"] for x in res]
    pc = [x["paced"] for x in res]
    r = res[-1]
    out.say(f"  as fast as the runner thread can push: {lines:,} lines in {spread([x['stream_s'] for x in mx])}, "
            f"all shown in {spread([x['done_s'] for x in mx])}")
    out.say(f"  paced at {r['paced']['rate']:,.0f} lines/s: {spread([x['stream_s'] for x in pc])}; "
            f"{sum(x['presses'] for x in pc)} key presses, latency median "
            f"{med([x['key_p50_ms'] for x in pc]):.1f} ms, p95 {med([x['key_p95_ms'] for x in pc]):.1f} ms, "
            f"max {max(x['key_max_ms'] for x in pc):.1f} ms")
    out.say(f"  on screen {r['paced']['shown']:,} lines (bounded buffer, max_lines {r['paced']['max_lines']:,}), "
            f"on disk {r['on_disk']:,} and {r['on_disk_paced']:,} lines (the full logs)")
    out.figure("tui_key_latency_ms", med([x["key_p95_ms"] for x in pc]),
               f"{med([x['key_p95_ms'] for x in pc]):.1f} ms")
    out.figure("tui_peak_rss_mb", max(x["peak_rss_mb"] for x in res),
               f"{max(x['peak_rss_mb'] for x in res):.0f} MB", "(whole process, max of runs)")
    out.results["details"]["tui"] = {"first_screen_s": first, "first_screen_answers_s": prefilled,
                                     "stream": res}


# ------------------------------------------------------------------ pyinfra

PYINFRA_SITE = ROOT / "bench" / "pyinfra_site"


def pyinfra_inventory(path: Path) -> Path:
    """The sample's inventory for bench/pyinfra_site: one group per role, the inventory
    addresses (the engineer's ~/.ssh/config maps them to the test hosts)."""
    hosts = ss.sample_hosts()
    chats = [a for a, roles in hosts.values() if "CHAT" in roles]
    lines = []
    for role in ("CHAT", "DATA", "TEL", "WEB", "LB"):
        rows = [f"    ({n!r}, {{'ssh_hostname': {a!r}, 'chat_servers': {chats!r}}}),"
                for n, (a, roles) in hosts.items() if role in roles]
        lines += [f"{role.lower()} = [", *rows, "]"]
    path.write_text("\n".join(lines) + "\n")
    return path


def without_backups(state: dict) -> dict:
    """The hand-written deploy keeps no backups (pyinfra has none): compare the rest."""
    return {h: {k: v for k, v in s.items() if k != "backups"} for h, s in state.items()}


def bench_pyinfra(out: Out, work: Path, reps: int, dry: bool) -> None:
    out.say("\n== pyinfra: the sample site by an idiomatic pyinfra deploy (bench/pyinfra_site) vs "
            "`chatwizard apply --yes`, first install and no-change replay, on 5 fresh test hosts")
    inv = pyinfra_inventory(work / "pyinfra-inventory.py")
    exe = Path(sys.executable).with_name("pyinfra")
    if dry:
        import jinja2
        compile((PYINFRA_SITE / "deploy.py").read_text(), "deploy.py", "exec")
        compile(inv.read_text(), "inventory.py", "exec")
        for t in (PYINFRA_SITE / "templates").glob("*.j2"):
            jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True).from_string(
                t.read_text()).render(chat_servers=["10.0.0.21"], db_password_url="x")
        out.say(f"  deploy, inventory and templates parse{'' if exe.exists() else ' (pyinfra not installed)'}")
        return
    from endstate import compare, site_state
    from testhost import HostFactory

    from wizard.answers import valid_cache
    eng = ss.Engineer(work / "engineer-pyinfra")
    api = ss.Standin(work / "tyntec-pyinfra")
    eng.vars["SSL_CERT_FILE"] = api.cert
    factory = HostFactory()
    env = dict(eng.vars, CHATROLE_DB_PASSWORD=ss.DB_PASSWORD, CHATROLE_TYNTEC_API=api.base,
               CHATROLE_TYNTEC_KEY=ss.TYNTEC_KEY)
    times = {k: [] for k in ("wizard", "wizard-replay", "pyinfra", "pyinfra-replay")}
    try:
        eng.secret("db/root", ss.DB_PASSWORD)
        eng.secret("tyntec/apikey", ss.TYNTEC_KEY)
        answers = ss.sample_answers(work / "site-pyinfra.yaml", api.base)

        def run(kind: str, first: bool = False) -> float:
            t0 = time.perf_counter()
            if kind == "wizard":
                if first:       # a first install: the answers' schema check not yet kept
                    (eng.state / valid_cache.NAME).unlink(missing_ok=True)
                p = eng.cli("apply", answers, "--yes")
                ok = p.returncode == 0 and ("Done:" in p.stdout or "Nothing to do." in p.stdout)
            else:
                p = subprocess.run([str(exe), "-y", str(inv), "deploy.py"], cwd=PYINFRA_SITE, env=env,
                                   capture_output=True, text=True, timeout=600)
                ok = p.returncode == 0
            t = time.perf_counter() - t0
            if not ok:
                raise RuntimeError(f"{kind} run failed ({p.returncode}): {p.stdout[-2000:]}{p.stderr[-6000:]}")
            return t

        for rep in range(reps):
            order = ["wizard", "pyinfra"] if rep % 2 == 0 else ["pyinfra", "wizard"]
            states = {}
            for kind in order:
                api.reset()
                site = ss.Site.start(factory, eng, work)
                eng.ssh_config(site.by_address())
                inv_roles = ss.sample_hosts()
                hosts = {n: (th, inv_roles[n][1]) for n, th in site.hosts.items()}
                try:
                    times[kind].append(run(kind, first=True))
                    first = without_backups(site_state(hosts))
                    if len(api.api.patches()) != 1:
                        raise RuntimeError(f"{kind}: TynTec got {len(api.api.patches())} PATCHes, not 1")
                    times[f"{kind}-replay"].append(run(kind))
                    again = without_backups(site_state(hosts))
                    diff = compare(first, again)
                    if diff:
                        raise RuntimeError(f"{kind}: the replay changed the hosts: " + "; ".join(diff[:5]))
                    states[kind] = first
                finally:
                    site.stop()
            diff = compare(states["wizard"], states["pyinfra"])
            if diff:
                raise RuntimeError("pyinfra's end state differs from the wizard's: " + "; ".join(diff[:8]))
            out.say(f"  rep {rep + 1} ({' then '.join(order)}): wizard {times['wizard'][-1]:.2f} s, replay "
                    f"{times['wizard-replay'][-1]:.2f} s; pyinfra {times['pyinfra'][-1]:.2f} s, replay "
                    f"{times['pyinfra-replay'][-1]:.2f} s; same end state (files, tree, packages, "
                    "services, firewall)")
        for key, w, p in (("pyinfra_first", "wizard", "pyinfra"),
                          ("pyinfra_replay", "wizard-replay", "pyinfra-replay")):
            ratio = [b / a for a, b in zip(times[w], times[p])]
            out.figure(key, med(ratio), spread(ratio, "x"),
                       f"(wizard {spread(times[w])}, pyinfra {spread(times[p])})")
        out.results["details"]["pyinfra"] = times
    finally:
        factory.stop_all()
        api.stop()


# ------------------------------------------------------------------ main

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one repetition, fewer samples (< 60 s)")
    ap.add_argument("--dry", action="store_true",
                    help="no timing: set up and check every part that needs no test host run")
    ap.add_argument("--only", action="append", choices=SECTIONS, help="run only these sections")
    ap.add_argument("--reps", type=int, help="repetitions of each timed run (default 3, quick 1)")
    ap.add_argument("--parallel", type=int, action="append",
                    help="--parallel for the cluster runs (default: 4, the CLI's default, and 8)")
    ap.add_argument("--json", metavar="FILE", help="write every figure and sample here")
    ap.add_argument("--keep", metavar="DIR", help="work folder to keep (default: a temporary one)")
    args = ap.parse_args(argv)
    sections = args.only or list(SECTIONS)
    reps = args.reps or (1 if args.quick else 3)
    out = Out()
    out.say(f"chat-role wizard benchmarks: {platform.node()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
            f"{'quick' if args.quick else 'full'}{' dry' if args.dry else ''}, {reps} rep(s)")
    if ss.WIZARD_ROOT != ROOT:
        out.say(f"the CLI runs use the wizard in {ss.WIZARD_ROOT} (BENCH_WIZARD_ROOT)")
    needs_hosts = [s for s in sections if s != "tui"]
    why = ss.check_prerequisites() if needs_hosts and not args.dry else None
    if why:
        print(f"cannot start test hosts: {why}", file=sys.stderr)
        return 2
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="chatwizard-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    out.say(f"load average {os.getloadavg()[0]:.1f} (1 min) at the start; the figures below are medians "
            "[min–max] of fresh-host runs")
    try:
        if "replay" in sections:
            if args.dry:
                dry_replay(out, work)
            else:
                bench_replay(out, work, reps, args.quick)
        if "overhead" in sections:
            bench_overhead(out, work, 50 if args.quick else 300, args.dry)
        if "cluster" in sections:
            sizes = (1, 8) if args.quick else CLUSTER_SIZES
            bench_cluster(out, work, reps, sizes, args.parallel or ([8] if args.quick else [8, 4]), args.dry,
                          with_limit=not args.quick)
        if "pyinfra" in sections:
            bench_pyinfra(out, work, reps, args.dry)
        if "tui" in sections:
            bench_tui(out, work, 2 if args.quick else max(5, reps), 100_000 if not args.dry else 2000,
                      args.dry, streams=1 if args.quick else 2, rate=50_000 if args.quick else 20_000)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    out.say(f"\n(bench took {time.perf_counter() - t_start:.0f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps(out.results, indent=1))
    return 0


def dry_replay(out: Out, work: Path) -> None:
    """The replay tooling on a canned recording: the plain script is written and parses, the
    driver runs its operations locally, the sample answers file still loads."""
    from bench import replay
    from wizard import answers
    out.say("\n== replay (dry): tooling on a canned recording")
    ans = ss.sample_answers(work / "site.yaml", "https://127.0.0.1:9/chat-api/v2")
    answers.load(str(ans))
    f = work / "canned"
    f.mkdir(exist_ok=True)
    ops = [
        {"seq": 0, "t0": 0.0, "host": "chat1", "kind": "read", "path": str(f / "in")},
        {"seq": 1, "t0": 0.1, "host": "chat1", "kind": "create", "path": str(f / ".tmp"),
         "stdin": "aGVsbG8K"},
        {"seq": 2, "t0": 0.2, "host": "chat1", "kind": "exec", "command": f"chmod 644 {f}/.tmp"},
        {"seq": 3, "t0": 0.3, "host": "chat1", "kind": "rename", "path": str(f / ".tmp"), "to": str(f / "out")},
        {"seq": 4, "t0": 0.4, "host": "chat1", "kind": "remove", "path": str(f / "gone")},
    ]
    (f / "in").write_text("x\n")
    script = replay.write_script(ops, work, ssh_config=work / "none", cafile="/dev/null",
                                 addresses={"chat1": "10.0.0.21"})
    subprocess.run(["bash", "-n", str(script)], check=True)
    opsfile = work / "canned-ops.json"
    opsfile.write_text(json.dumps([{"shell": replay.shell_equivalent(o), "stdin": o.get("stdin")} for o in ops]))
    subprocess.run([sys.executable, str(ROOT / "bench" / "driver.py"), str(opsfile), str(work / "canned-own.json")],
                   check=True)
    res = json.loads((work / "canned-own.json").read_text())
    assert res["rc"] == [0] * len(ops), res
    assert (f / "out").read_text() == "hello\n"
    out.say(f"  plain script and in-host driver work ({len(ops)} canned operations)")


if __name__ == "__main__":
    sys.exit(main())
