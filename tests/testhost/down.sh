#!/bin/bash
# down.sh NAME [--purge] - stop a test host started by up.sh NAME.
# Kills unshare (its child, pid 1 of the test host's pid namespace, gets
# SIGKILL through --kill-child and the kernel then kills every process in
# that namespace; the overlay/tmpfs mounts die with the mount namespace),
# then deletes the network namespace (which deletes the veth pair).
# Keeps RUN (state/ with the shim log, console.log) for post-mortem unless --purge.
set -uo pipefail
NAME=${1:-th0}
PURGE=${2:-}
BASE=${TESTHOST_BASE:-/tmp/testhost}
RUN=$BASE/$NAME
NS=testhost-$NAME
# alive PID: exists and is not a zombie. unshare is reparented to the
# machine's pid 1 once up.sh exits, and that reaps zombies only now and then
# (about a second here), so `kill -0` would wait for nothing.
alive() { local st; st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1); [ -n "$st" ] && [ "$st" != Z ]; }
if [ -f "$RUN/unshare.pid" ]; then
  UPID=$(cat "$RUN/unshare.pid")
  # only kill it if it is still our unshare (pid reuse guard)
  if [ -r "/proc/$UPID/cmdline" ] && tr '\0' ' ' < "/proc/$UPID/cmdline" | grep -q "inner.sh"; then
    # SIGKILL to pid 1 of the test host's pid namespace: the kernel kills every
    # process in it, the mount namespace (overlay, tmpfs) goes with the last
    # one, and unshare (which blocks SIGTERM/SIGINT while it waits) returns.
    CHILD=$(pgrep -P "$UPID" | head -1)
    [ -n "$CHILD" ] && kill -KILL "$CHILD" 2>/dev/null
    for _ in $(seq 1 250); do alive "$UPID" || break; sleep 0.01; done
    if alive "$UPID"; then
      kill -KILL "$UPID" 2>/dev/null   # --kill-child then kills pid 1
      sleep 0.05
    fi
  fi
  rm -f "$RUN/unshare.pid"
fi
# the veth pair first (deleting one end deletes both, synchronously; a plain
# `ip netns del` leaves that to the kernel's cleanup worker, a little later)
VH=$(cat "$RUN/veth" 2>/dev/null || true)
if [ -n "$VH" ] && [ -e "/sys/class/net/$VH" ]; then
  ip link del "$VH" 2>/dev/null || true
fi
if [ -e "/run/netns/$NS" ]; then
  ip netns del "$NS"
fi
# any mount left in the root namespace under RUN would be a bug; report it
if grep -q " $RUN/" /proc/self/mounts; then
  echo "down.sh: WARNING: mounts left under $RUN" >&2
  grep " $RUN/" /proc/self/mounts >&2
fi
rm -f "$RUN/info.env" "$RUN/info.json" "$RUN/veth"
if [ "$PURGE" = "--purge" ]; then rm -rf "$RUN"; fi
exit 0
