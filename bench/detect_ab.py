"""Detection and planning, batched vs read by read, on the same kind of fresh sample site.

    sudo .venv/bin/python bench/detect_ab.py [--reps 2]

Runs `bench/record.py … plan` (the sample of bench/run.py's replay section, on 5 fresh
CentOS 7 test hosts each time) alternately with CHATWIZARD_DETECT=batch and =per-read, and
prints, per run, the recorded phases (detect, plan) and the operations sent to the hosts in
them; then the medians. Same machine, same minutes: compare the pairs, not absolute times.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import sample_site as ss  # noqa: E402


def one(eng, work: Path, answers: Path, mode: str, factory) -> dict:
    site = ss.Site.start(factory, eng, work)
    eng.ssh_config(site.by_address())
    out = work / f"rec-{mode}-{time.monotonic_ns()}.json"
    try:
        p = subprocess.run([sys.executable, str(ROOT / "bench" / "record.py"), str(out), "plan",
                            str(answers)], env=dict(eng.vars, CHATWIZARD_DETECT=mode), cwd=eng.home,
                           capture_output=True, text=True, timeout=600)
    finally:
        site.stop()
    if p.returncode != 0:
        raise RuntimeError(p.stderr[-3000:])
    rec = json.loads(out.read_text())
    ph = {x["phase"]: x for x in reversed(rec["phases"])}
    det, plan = ph["detect"], ph["plan"]
    start, end = det["t0"], plan["t0"] + plan["wall_s"]
    ops = [o for o in rec["ops"] if o["kind"] in ("exec", "read") and start <= o["t0"] < end]
    return {"detect_ms": det["wall_s"] * 1e3, "plan_ms": plan["wall_s"] * 1e3,
            "both_ms": (end - start) * 1e3, "ops": len(ops)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=2)
    args = ap.parse_args()
    from testhost import HostFactory
    work = Path(tempfile.mkdtemp(prefix="detect-ab-"))
    eng = ss.Engineer(work / "engineer")
    api = ss.Standin(work / "tyntec")
    eng.vars["SSL_CERT_FILE"] = api.cert
    factory = HostFactory()
    res: dict[str, list[dict]] = {"batch": [], "per-read": []}
    print(f"load average {os.getloadavg()[0]:.1f} at the start")
    try:
        eng.secret("db/root", ss.DB_PASSWORD)
        eng.secret("tyntec/apikey", ss.TYNTEC_KEY)
        answers = ss.sample_answers(work / "site.yaml", api.base)
        for rep in range(args.reps):
            for mode in (("batch", "per-read") if rep % 2 == 0 else ("per-read", "batch")):
                api.reset()
                r = one(eng, work, answers, mode, factory)
                res[mode].append(r)
                print(f"  rep {rep + 1} {mode:<8}: detect {r['detect_ms']:.0f} ms, plan {r['plan_ms']:.0f} ms, "
                      f"together {r['both_ms']:.0f} ms, {r['ops']} operations sent to the hosts")
    finally:
        factory.stop_all()
        api.stop()
    for mode, rs in res.items():
        print(f"{mode:<8} median: detect+plan {statistics.median(r['both_ms'] for r in rs):.0f} ms, "
              f"{statistics.median(r['ops'] for r in rs):.0f} operations")
    ratio = [p["both_ms"] / b["both_ms"] for b, p in zip(res["batch"], res["per-read"])]
    print(f"per-read / batch, pair by pair: median {statistics.median(ratio):.2f}x "
          f"[{min(ratio):.2f}-{max(ratio):.2f}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
