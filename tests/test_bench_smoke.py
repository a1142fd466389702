"""The benchmark script runs (bench/run.py --quick --dry): its tooling is exercised without
timing anything and without test hosts. The figures themselves are in docs/benchmarks.md;
no test asserts a timing."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_runs_dry():
    p = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--dry"],
                       capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert p.returncode == 0, p.stdout + p.stderr
    for section in ("== replay (dry)", "== overhead", "== cluster", "== tui"):
        assert section in p.stdout, p.stdout
    assert "plain script and in-host driver work" in p.stdout
