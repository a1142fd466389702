"""Peak memory and time of SSHTransport.run() for huge host output (issue 9, finding 6).

    sudo python3 bench/huge_output.py [--code DIR] [--cases lines,single,sudo]

Starts one centos7 test host (tests/testhost, needs root) and, for each case, a fresh
Python process that connects and runs one command printing:

  lines   100 MB in 80-character lines (`yes … | head -c 100000000`)
  single  one 48 MB line (`head -c 48000000 /dev/zero | tr '\\0' x`)
  sudo    the 100 MB of lines through sudo on a pty (user tester, become: sudo)

Each process prints its wall time for run() and its peak RSS (ru_maxrss, after the import
and the connection: "base") as JSON; this script prints a table. --code runs the wizard
package found in DIR instead of this checkout's (e.g. an older commit unpacked with
`git archive COMMIT wizard | tar -x -C DIR`), to compare before and after.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CASES = {
    "lines": ("yes 'chat-role wizard: a line of host output, eighty characters long......' "
              "| head -c 100000000", False),
    "single": ("head -c 48000000 /dev/zero | tr '\\0' x; echo", False),
    "sudo": ("yes 'chat-role wizard: a line of host output, eighty characters long......' "
             "| head -c 100000000", True),
}

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from wizard.transport.base import HostSpec
from wizard.transport.ssh import SSHTransport
a = json.loads(sys.argv[2])
spec = HostSpec("bench", a["host"], port=a["port"], user=a["user"], key_file=a["key"],
                become="sudo" if a["sudo"] else "root", password_ref="bench/pw")
t = SSHTransport(spec, known_hosts_paths=[a["known_hosts"]], tool_known_hosts=a["tool_kh"],
                 ssh_config_path=a["tool_kh"] + ".none", allow_agent=False,
                 password_provider=lambda ref: a["password"])
t.run("true", sudo=a["sudo"])
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
n = [0, 0]
def count(stream, line):
    n[0] += 1
    n[1] = max(n[1], len(line))
t0 = time.perf_counter()
r = t.run(a["command"], sudo=a["sudo"], timeout=900, on_output=count)
wall = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t.close()
print(json.dumps({"wall_s": wall, "base_rss_mb": base / 1024, "peak_rss_mb": peak / 1024,
                  "lines": n[0], "longest_line": n[1], "kept_chars": len(r.stdout),
                  "exit": r.exit_code}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--code", default=str(ROOT), help="folder holding the wizard package to measure")
    ap.add_argument("--cases", default="lines,single,sudo")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "tests"))
    from testhost import HostFactory

    factory = HostFactory()
    try:
        th = factory("centos7")
        with tempfile.TemporaryDirectory() as work:
            print(f"code: {args.code}")
            print(f"{'case':8} {'wall s':>8} {'peak RSS MB':>12} {'base RSS MB':>12} {'lines':>9} "
                  f"{'longest':>9} {'kept':>10}")
            for case in args.cases.split(","):
                command, sudo = CASES[case]
                a = {"host": th.host, "port": th.port, "user": "tester" if sudo else "root",
                     "key": th.key_path, "known_hosts": th.known_hosts_path,
                     "tool_kh": str(Path(work) / "kh"), "password": th.password,
                     "sudo": sudo, "command": command}
                p = subprocess.run([sys.executable, "-c", CHILD, args.code, json.dumps(a)],
                                   capture_output=True, text=True, timeout=1800)
                if p.returncode != 0:
                    print(f"{case:8} failed: {p.stderr.strip().splitlines()[-1:]}")
                    continue
                r = json.loads(p.stdout.strip().splitlines()[-1])
                print(f"{case:8} {r['wall_s']:8.1f} {r['peak_rss_mb']:12.0f} {r['base_rss_mb']:12.0f} "
                      f"{r['lines']:9d} {r['longest_line']:9d} {r['kept_chars']:10d}")
    finally:
        factory.stop_all()


if __name__ == "__main__":
    main()
