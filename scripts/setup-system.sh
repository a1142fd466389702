#!/usr/bin/env bash
# setup-system.sh - what the tests need on a fresh Debian 12, as root. Idempotent.
#
#   bash scripts/setup-system.sh            (scripts/test.sh and .ci/run call it)
#
# 1. /usr/sbin/policy-rc.d that exits 101, BEFORE any apt-get install: otherwise the
#    postinst scripts of openssh-server and haproxy start sshd on 0.0.0.0:22 and
#    haproxy on the machine itself, outside any test host's namespaces.
# 2. Debian packages: openssh-server (sshd of the test hosts, ssh-keygen, ssh),
#    haproxy, sudo, iproute2 (ip netns, veth), util-linux (unshare, setpriv), procps,
#    tmux, openssl (test certificates), python3 (/usr/bin/python3 runs the shims inside
#    the test hosts) and python3-venv.
#    apt-get runs only when one of them is missing (SETUP_FORCE_APT=1: always).
# 3. The project with its test extras in a virtual environment, .venv/ (Debian's own
#    python3 refuses a system-wide pip install, PEP 668). SETUP_SKIP_PIP=1 skips it.
#    It is made by the owner of the checkout (runuser), not by root, so that
#    scripts/training.sh run later by that user can still use and update it.
#
#   bash scripts/setup-system.sh --check    (any user) exit 0 when nothing is missing
set -euo pipefail
cd "$(dirname "$0")/.."
PKGS="openssh-server openssh-client haproxy sudo iproute2 util-linux procps tmux openssl python3 python3-venv"
missing=""
for p in $PKGS; do
  st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$st" = installed ] || missing="$missing $p"
done
if [ "${1:-}" = --check ]; then
  [ -z "$missing" ] || { echo "setup-system.sh: missing Debian packages:$missing" >&2; exit 1; }
  .venv/bin/python -c 'import pytest, pytest_textual_snapshot, babel, wizard' 2>/dev/null || {
    echo "setup-system.sh: .venv/ lacks the project or its test extras" >&2; exit 1; }
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "setup-system.sh: must run as root (su -c 'bash $(pwd)/scripts/setup-system.sh')" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive

# -- 1. no service starts from package installs --------------------------------
POLICY=/usr/sbin/policy-rc.d
if [ -x "$POLICY" ] && { "$POLICY" ssh start >/dev/null 2>&1; [ $? = 101 ]; }; then
  :
else
  if [ -e "$POLICY" ]; then
    cp -p "$POLICY" "$POLICY.before-setup-system"
    echo "setup-system.sh: $POLICY did not exit 101; saved as $POLICY.before-setup-system" >&2
  fi
  printf '#!/bin/sh\n# no service starts from apt-get install here (tests run them in namespaces)\nexit 101\n' > "$POLICY"
  chmod 0755 "$POLICY"
fi

# -- 2. Debian packages ----------------------------------------------------------------
if [ -n "$missing" ] || [ "${SETUP_FORCE_APT:-0}" = 1 ]; then
  echo "setup-system.sh: apt-get install$missing" >&2
  apt-get update
  apt-get install -y --no-install-recommends $PKGS
fi

# -- 3. the project and its test dependencies ----------------------------------------
if [ "${SETUP_SKIP_PIP:-0}" != 1 ]; then
  owner=$(stat -c %U .)
  as_owner=()
  if [ "$owner" != root ] && home=$(getent passwd "$owner" | cut -d: -f6) && [ -n "$home" ]; then
    as_owner=(runuser -u "$owner" -- env HOME="$home")
    [ ! -e .venv ] || [ "$(stat -c %U .venv)" = "$owner" ] || chown -R "$owner": .venv
  fi
  [ -x .venv/bin/python ] || "${as_owner[@]}" python3 -m venv .venv
  PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore \
    "${as_owner[@]}" .venv/bin/python -m pip install -q -e '.[test]'
fi
