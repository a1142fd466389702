#!/bin/bash
# up.sh - start a disposable CentOS-looking SSH test host.
#
#   up.sh -n NAME -i INDEX [-f centos6|centos7] [-l LOWERDIR] [--no-netns] [--no-mesh]
#         [-p PASSWORD] [-s TMPFS_SIZE] [--crypto legacy|modern] [--hostname NAME]
#         [--java8] [--no-jtel] [--portal-version V|none] [--crlf]
#         [--hazelcast-layout shared|legacy] [--hazelcast-chat] [--members a,b,c]
#         [--datadir local|mounted|none]
#
# Makes (as root):
#   * network namespace testhost-NAME with a veth pair; the machine side gets
#     10.200.INDEX.1/30 (device thvINDEXh), the test host 10.200.INDEX.2/30. The
#     namespace has no default route: it reaches the machine side of its own /30
#     and, unless --no-mesh, the other test hosts (route 10.200.0.0/16 via the
#     machine side, with forwarding switched on for this veth only; the machine's
#     global ip_forward is not touched). With --no-netns sshd listens on
#     127.0.0.1:(2200+INDEX) in the root namespace instead.
#   * new mount+pid+uts namespaces (unshare) whose root is an overlayfs:
#     lower = LOWERDIR (default "/", the machine's own root, read-only to it),
#     upper = a tmpfs that vanishes with the namespace. The real /etc etc.
#     are never written.
#   * CentOS dressing, recording shims, users root/tester/jtel with password and
#     key auth, the jtel tree (seed.py), a fresh host key, and a real OpenSSH
#     sshd, started by a small init (thinit.py, pid 1 of the host).
# Writes RUN=${TESTHOST_BASE:-/tmp/testhost}/NAME/ with:
#   info.json, info.env        address, port, users, key paths, pids
#   keys/id_KEYTYPE            client key (authorized for root, tester and jtel):
#                              rsa for --crypto legacy, ed25519 for modern
#   state/                     bind-mounted in the host at /var/lib/testhost:
#     calls.jsonl (shim log), state.json, config.json, known_hosts
#   console.log                namespace setup + sshd log (sshd -e)
# --crypto legacy (always for centos6): RSA host key only, ssh-rsa (SHA-1)
#   signatures, SHA-1 kex/MACs, no ed25519/ecdsa/chacha: roughly what
#   OpenSSH 5.3p1 on CentOS 6.10 offers. modern (default for centos7): the
#   OpenSSH 9.2 defaults with an ed25519 host key.
# Prints info.env to stdout. Tear down with down.sh NAME [--purge].
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
NAME=th0 INDEX=0 FLAVOR=centos7 LOWER=/ NETNS=1 MESH=1 PASSWORD=testpass SIZE=1g
CRYPTO= THOSTNAME= JAVA8=0 JTEL=1
SEED_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    -n|--name) NAME=$2; shift 2;;
    -i|--index) INDEX=$2; shift 2;;
    -f|--flavor) FLAVOR=$2; shift 2;;
    -l|--lower) LOWER=$2; shift 2;;
    -p|--password) PASSWORD=$2; shift 2;;
    -s|--size) SIZE=$2; shift 2;;
    --crypto) CRYPTO=$2; shift 2;;
    --hostname) THOSTNAME=$2; shift 2;;
    --no-netns) NETNS=0; shift;;
    --no-mesh) MESH=0; shift;;
    --java8) JAVA8=1; shift;;
    --no-jtel) JTEL=0; shift;;
    --crlf|--hazelcast-chat) SEED_ARGS+=("$1"); shift;;
    --portal-version|--hazelcast-layout|--members|--datadir) SEED_ARGS+=("$1" "$2"); shift 2;;
    *) echo "up.sh: unknown argument $1" >&2; exit 2;;
  esac
done
case "$FLAVOR" in centos6|centos7) ;; *) echo "flavor must be centos6 or centos7" >&2; exit 2;; esac
[ -n "$CRYPTO" ] || CRYPTO=$([ "$FLAVOR" = centos6 ] && echo legacy || echo modern)
if [ "$FLAVOR" = centos6 ] && [ "$CRYPTO" != legacy ]; then
  echo "up.sh: centos6 hosts always use --crypto legacy (OpenSSH 5.3p1)" >&2; exit 2
fi
case "$CRYPTO" in legacy) HOSTKEYS=rsa KEYTYPE=rsa;; modern) HOSTKEYS=ed25519 KEYTYPE=ed25519;;
  *) echo "crypto must be legacy or modern" >&2; exit 2;; esac
case "$INDEX" in ''|*[!0-9]*) echo "index must be a number" >&2; exit 2;; esac
[ "$INDEX" -ge 0 ] && [ "$INDEX" -le 255 ] || { echo "index 0..255" >&2; exit 2; }
case "$NAME" in ''|*[!A-Za-z0-9_.-]*) echo "name: letters, digits, _ . - only" >&2; exit 2;; esac
[ -n "$THOSTNAME" ] || THOSTNAME=$FLAVOR-testhost
[ "$(id -u)" = 0 ] || { echo "up.sh must run as root" >&2; exit 1; }
[ -x "$LOWER/usr/sbin/sshd" ] || { echo "no $LOWER/usr/sbin/sshd (run scripts/setup-system.sh)" >&2; exit 1; }
[ -x "$LOWER/usr/bin/python3" ] || { echo "no $LOWER/usr/bin/python3 (the shims need it)" >&2; exit 1; }

BASE=${TESTHOST_BASE:-/tmp/testhost}
RUN=$BASE/$NAME
NS=testhost-$NAME
VH=thv${INDEX}h VC=thv${INDEX}c
if [ -e "$RUN/info.env" ]; then echo "$RUN exists: run down.sh $NAME first" >&2; exit 1; fi
# leftovers of a run that died without down.sh (same name)
if [ -e "$RUN/unshare.pid" ] || [ -e "/run/netns/$NS" ]; then
  "$HERE/down.sh" "$NAME" >&2 || true
fi
t0=$EPOCHREALTIME
rm -rf "$RUN"; mkdir -p "$RUN/mnt" "$RUN/keys" "$RUN/state"
chmod 0777 "$RUN/state"   # shims run as any user append to the log here
: > "$RUN/state/calls.jsonl"; : > "$RUN/state/state.lock"
chmod 0666 "$RUN/state/calls.jsonl" "$RUN/state/state.lock"
PY3=/usr/bin/python3   # not a pyenv/venv shim: ~90 ms less per call
# keys first, in the background (RSA-2048 takes ~0.3 s each): the client key and a
# fresh host key for this run; dress.sh installs the host key
mkdir -p "$RUN/hostkeys"
ssh-keygen -q -t "$KEYTYPE" $([ "$KEYTYPE" = rsa ] && echo "-b 2048") -N '' -C "testhost-client" \
  -f "$RUN/keys/id_$KEYTYPE" < /dev/null &
KG1=$!
for t in $HOSTKEYS; do
  ssh-keygen -q -t "$t" $([ "$t" = rsa ] && echo "-b 2048") -N '' -C "root@$THOSTNAME" \
    -f "$RUN/hostkeys/ssh_host_${t}_key" < /dev/null
done &
KG2=$!
$PY3 - "$RUN/state/config.json" "$FLAVOR" "$JAVA8" <<'PY'
import json, sys
cfg = {"flavor": sys.argv[2], "unavailable": [], "prompt_timeout": 20, "offline": False,
       "unreachable": [], "java_listen_port": 3000,
       "preinstalled": {"jdk1.8": "1.8.0_202-fcs"} if sys.argv[3] == "1" else {}}
json.dump(cfg, open(sys.argv[1], "w"), indent=1)
PY
if [ "$JTEL" = 1 ]; then
  $PY3 "$HERE/seed.py" "$RUN/seed" ${SEED_ARGS[@]+"${SEED_ARGS[@]}"}
fi
wait "$KG1" "$KG2"
cp "$RUN/keys/id_$KEYTYPE.pub" "$RUN/keys/client.pub"

cleanup_net() { ip netns del "$NS" 2>/dev/null || true; ip link del "$VH" 2>/dev/null || true; }
if [ "$NETNS" = 1 ]; then
  HOST_IP=10.200.$INDEX.1 IP=10.200.$INDEX.2 PORT=22
  if [ -e "/sys/class/net/$VH" ]; then
    echo "up.sh: $VH exists: index $INDEX is in use by another test host" >&2; exit 1
  fi
  # Guard: 10.200.0.0/16 belongs to test hosts. Without this route a packet for a
  # host that is stopped or whose link is down would follow the machine's default
  # route out. "unreachable" answers such packets locally; the /30 of each live
  # host is more specific and wins. Left in place (shared by concurrent runs).
  ip route replace unreachable 10.200.0.0/16 metric 4095 2>/dev/null || true
  trap 'cleanup_net' ERR
  ip netns add "$NS"
  echo "$VH" > "$RUN/veth"
  ip link add "$VH" type veth peer name "$VC"
  ip link set "$VC" netns "$NS"
  ip addr add "$HOST_IP/30" dev "$VH"
  ip link set "$VH" up
  ip -n "$NS" addr add "$IP/30" dev "$VC"
  ip -n "$NS" link set "$VC" up
  ip -n "$NS" link set lo up
  if [ "$MESH" = 1 ]; then
    # test host <-> test host through the machine: forwarding on this veth only
    echo 1 > "/proc/sys/net/ipv4/conf/$VH/forwarding"
    ip -n "$NS" route add 10.200.0.0/16 via "$HOST_IP"
  fi
  trap - ERR
  ENTER=(ip netns exec "$NS")
  LISTEN="$IP 127.0.0.1"
else
  HOST_IP=127.0.0.1 IP=127.0.0.1 PORT=$((2200 + INDEX))
  ENTER=()
  LISTEN="127.0.0.1"
fi
t_net=$EPOCHREALTIME

export TH_NAME=$NAME TH_RUN=$RUN TH_FLAVOR=$FLAVOR TH_LOWER=$LOWER TH_SIZE=$SIZE \
       TH_PASSWORD=$PASSWORD TH_IP=$IP TH_PORT=$PORT TH_LISTEN=$LISTEN TH_HOSTKEYS=$HOSTKEYS \
       TH_CRYPTO=$CRYPTO TH_SRC=$HERE TH_HOSTNAME=$THOSTNAME TH_JTEL=$JTEL
# setsid: own session, so the test's Ctrl-C does not hit it; `ip netns exec`
# and unshare exec in place, so $! is unshare's pid. --kill-child: when unshare
# dies, namespace pid 1 (thinit) gets SIGKILL and the kernel kills the rest.
setsid "${ENTER[@]}" unshare --mount --uts --pid --fork --kill-child --propagation private \
  /bin/bash "$HERE/inner.sh" > "$RUN/console.log" 2>&1 < /dev/null &
UPID=$!
echo "$UPID" > "$RUN/unshare.pid"

# ready when sshd accepts TCP on the address (from the root namespace)
alive() { local st; st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1); [ -n "$st" ] && [ "$st" != Z ]; }
ok=0
for _ in $(seq 1 500); do
  if ! alive "$UPID"; then break; fi
  if timeout 0.2 bash -c "exec 3<>/dev/tcp/$IP/$PORT" 2>/dev/null; then ok=1; break; fi
  sleep 0.02
done
t_up=$EPOCHREALTIME
if [ $ok != 1 ]; then
  echo "up.sh: test host did not come up; console.log:" >&2
  cat "$RUN/console.log" >&2
  "$HERE/down.sh" "$NAME" >&2 || true
  exit 1
fi
NSPID=$(pgrep -P "$UPID" | head -1)
cat > "$RUN/info.env" <<EOF
TH_NAME=$NAME
TH_INDEX=$INDEX
TH_FLAVOR=$FLAVOR
TH_HOSTNAME=$THOSTNAME
TH_HOST=$IP
TH_PORT=$PORT
TH_HOST_SIDE_IP=$HOST_IP
TH_NETNS=$([ "$NETNS" = 1 ] && echo "$NS" || echo "")
TH_VETH=$([ "$NETNS" = 1 ] && echo "$VH" || echo "")
TH_PASSWORD=$PASSWORD
TH_USERS="root tester jtel"
TH_KEY=$RUN/keys/id_$KEYTYPE
TH_CRYPTO=$CRYPTO
TH_KNOWN_HOSTS=$RUN/state/known_hosts
TH_STATE=$RUN/state
TH_CALLS=$RUN/state/calls.jsonl
TH_UNSHARE_PID=$UPID
TH_INIT_PID=$NSPID
TH_ROOT=/proc/$NSPID/root
TH_LOWER=$LOWER
TH_SETUP_NET_S=$(awk "BEGIN { printf \"%.3f\", $t_net - $t0 }")
TH_SETUP_TOTAL_S=$(awk "BEGIN { printf \"%.3f\", $t_up - $t0 }")
EOF
$PY3 - "$RUN/info.env" "$RUN/info.json" <<'PY'
import json, shlex, sys
d = {}
for line in open(sys.argv[1]):
    k, _, v = line.rstrip("\n").partition("=")
    d[k] = shlex.split(v)[0] if v else ""
json.dump(d, open(sys.argv[2], "w"), indent=1)
PY
cat "$RUN/info.env"
