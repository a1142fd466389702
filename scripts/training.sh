#!/usr/bin/env bash
# Set up a virtual environment (once) and start the wizard in training mode on the
# built-in simulated CentOS 7 host: no server, no network, no root needed.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
  else echo "python3-venv is missing: sudo apt-get install python3-venv" >&2; exit 1; fi
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e .
export CHATWIZARD_KEYRING=${CHATWIZARD_KEYRING:-training}
exec .venv/bin/chatwizard --training "$@"
