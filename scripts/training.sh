#!/usr/bin/env bash
# Set up a virtual environment (once) and start the wizard in training mode on the
# built-in simulated CentOS 7 host: no server, no network, no root needed to run it.
#
# Setting up needs python3 with venv (Debian: python3-venv). When it is missing it is
# installed with apt-get: as root directly, otherwise through sudo (which asks for your
# password); without either, the script says exactly what to run as root. The project
# is installed into .venv/ once, and again only when pyproject.toml changes, so later
# starts need no network.
set -euo pipefail
cd "$(dirname "$0")/.."
HERE=$(pwd)
ME=$(id -un 2>/dev/null || id -u)

need=""
if ! command -v python3 >/dev/null 2>&1; then
  need="python3 python3-venv"
elif ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
  need="python3-venv"
fi
if [ -n "$need" ] && [ ! -x .venv/bin/python ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq $need >/dev/null
  elif [ -z "${TRAINING_SH_NO_SUDO:-}" ] && command -v sudo >/dev/null 2>&1; then
    echo "training.sh: installing $need with sudo (it may ask for your password)" >&2
    if ! { sudo apt-get update -qq && sudo apt-get install -y -qq $need >/dev/null; }; then
      echo "training.sh: sudo could not install $need for $ME. As root, run:" >&2
      echo "    apt-get install -y $need" >&2
      echo "then run 'bash scripts/training.sh' again as $ME." >&2
      exit 1
    fi
  else
    echo "training.sh: $need is missing, installing it needs root, and $ME is not root and has no sudo." >&2
    echo "Run this once as root (su asks for the root password):" >&2
    echo "    su -c 'apt-get install -y $need'" >&2
    echo "then run 'bash scripts/training.sh' again as $ME." >&2
    exit 1
  fi
fi

if [ ! -w . ] || { [ -e .venv ] && [ ! -w .venv ]; }; then
  owner=$(stat -c %U .venv 2>/dev/null || stat -c %U .)
  echo "training.sh: $ME cannot write $( [ -w . ] && echo "$HERE/.venv" || echo "$HERE" ) (it belongs to $owner)." >&2
  echo "Run the script as $owner, or as root remove the old environment: rm -rf '$HERE/.venv'," >&2
  echo "or clone the repository into a folder of your own." >&2
  exit 1
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
stamp=.venv/.chatwizard-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -x .venv/bin/chatwizard ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e .
  echo "$want" > "$stamp"
fi
export CHATWIZARD_KEYRING=${CHATWIZARD_KEYRING:-training}
exec .venv/bin/chatwizard --training "$@"
