"""Run wizard.verify against an answers file as `chatwizard verify ANSWERS` will (the lead
wires the command): connect, detect, run_checks; print the checks as JSON, then the CLI's
plain lines on stderr. Used by tests/test_e2e_verify.py in the engineer's environment."""
from __future__ import annotations

import dataclasses
import json
import sys

from wizard import verify
from wizard.session import Session


def main(path: str) -> int:
    session = Session()
    session.load(path)
    try:
        checks = session.verify()
    finally:
        session.shutdown()
    print(json.dumps([dataclasses.asdict(c) for c in checks]))
    print("\n".join(verify.render_lines(checks)), file=sys.stderr)
    return 0 if all(c.ok for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
