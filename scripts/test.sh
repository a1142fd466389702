#!/usr/bin/env bash
# test.sh - set the machine up (as root) and run the test suite.
#
#   bash scripts/test.sh [pytest args...]     e.g. scripts/test.sh -x tests/test_testhost.py
#
# Exits with pytest's exit code. The setup (apt-get) and the test hosts (network
# namespaces, mounts) need root: not root, it re-runs itself through sudo (which may ask
# for your password). Without root and sudo (or with TEST_SH_NO_SUDO=1) it runs the tests
# that need no root, when the machine is already set up; otherwise it says what to run
# as root and exits 1.
set -uo pipefail
cd "$(dirname "$0")/.."
HERE=$(pwd)
ME=$(id -un 2>/dev/null || id -u)
if [ "$(id -u)" != 0 ]; then
  if [ -z "${TEST_SH_NO_SUDO:-}" ] && command -v sudo >/dev/null 2>&1; then
    if sudo -v; then                   # may ask for the password; refused: said below
      exec sudo -E bash "$0" "$@"      # the test hosts need root (namespaces, mounts)
    fi
    echo "test.sh: sudo did not let $ME become root (its message is above)." >&2
    echo "Run the tests as root instead (su asks for the root password):" >&2
    echo "    su -c 'bash $HERE/scripts/test.sh'" >&2
    exit 1
  fi
  if ! bash scripts/setup-system.sh --check; then
    echo "test.sh: the machine is not set up for the tests, setting it up needs root, and $ME is not" >&2
    echo "root and has no sudo. Run this once as root (su asks for the root password):" >&2
    echo "    su -c 'bash $HERE/scripts/test.sh'" >&2
    echo "It sets the machine up and runs every test; afterwards 'bash scripts/test.sh' as $ME" >&2
    echo "runs the tests that need no root." >&2
    exit 1
  fi
  echo "test.sh: not root and no sudo: the tests that need test hosts (network namespaces) are" >&2
  echo "skipped; to run them too: su -c 'bash $HERE/scripts/test.sh'" >&2
else
  bash scripts/setup-system.sh || { echo "test.sh: setup-system.sh failed" >&2; exit 1; }
fi
PY=python3
[ -x .venv/bin/python ] && PY=.venv/bin/python
exec "$PY" -m pytest -q "$@"
