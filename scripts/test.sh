#!/usr/bin/env bash
# test.sh - set the machine up (as root) and run the test suite.
#
#   bash scripts/test.sh [pytest args...]     e.g. scripts/test.sh -x tests/test_testhost.py
#
# Exits with pytest's exit code. Not root: the setup is skipped and the tests that
# need test hosts (network namespaces) are skipped by pytest.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1 && [ -z "${TEST_SH_NO_SUDO:-}" ]; then
  exec sudo -E bash "$0" "$@"          # the test hosts need root (namespaces, mounts)
fi
if [ "$(id -u)" = 0 ]; then
  bash scripts/setup-system.sh || { echo "test.sh: setup-system.sh failed" >&2; exit 1; }
else
  echo "test.sh: not root and no sudo: skipping scripts/setup-system.sh (test-host tests are skipped)" >&2
fi
PY=python3
[ -x .venv/bin/python ] && PY=.venv/bin/python
exec "$PY" -m pytest -q "$@"
