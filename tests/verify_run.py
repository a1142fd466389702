"""Run wizard.verify against an answers file as `chatwizard verify ANSWERS` will (the lead
wires the command): connect, detect, run_checks; print the checks as JSON, then the CLI's
plain lines on stderr. Used by tests/test_e2e_verify.py in the engineer's environment."""
from __future__ import annotations

import dataclasses
import json
import sys

from wizard import answers as answers_mod
from wizard import planner, session, verify


def main(path: str) -> int:
    ans = answers_mod.load(path)
    transports = session.connect_all(ans.hosts)
    try:
        facts = planner.detect(ans, transports)
        checks = verify.run_checks(ans, transports, facts)
    finally:
        session.close_all(transports)
    print(json.dumps([dataclasses.asdict(c) for c in checks]))
    print("\n".join(verify.render_lines(checks)), file=sys.stderr)
    return 0 if all(c.ok for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
