#!/bin/bash
# inner.sh - pid 1 of the test host's new mount/pid/uts namespaces (started by
# up.sh through unshare, inside the test host's network namespace if any).
# Builds the overlay root, mounts /proc /dev /sys /run, bind-mounts the state
# dir, dresses the root as CentOS (dress.sh, chrooted), pivots into it and
# execs sshd with a docker-like capability bounding set.
set -euo pipefail
: "${TH_RUN:?}" "${TH_LOWER:?}"
echo "inner: pid $$ (pid-ns view), building root"
M=$TH_RUN/mnt
R=$M/root
mount -t tmpfs -o "size=$TH_SIZE,mode=0755" "testhost-$TH_NAME" "$M"
mkdir -p "$M/upper" "$M/work" "$R"
# Opaque upper dirs: these start empty in the test host instead of showing the
# machine's own /root, /home, /opt, /usr/local ... (no host dotfiles, no PATH
# from the host's ~/.bashrc, nothing of the host's to find or depend on).
# usr/lib/jvm: CentOS has no Java until the installer brings one (the shim makes
# a fake JDK at yum install time).
OPAQUE="root home opt srv mnt media tmp var/tmp usr/local usr/lib/jvm"
for d in $OPAQUE; do mkdir -p "$M/upper/$d"; done
(cd "$M/upper" && /usr/bin/python3 -c 'import os, sys
for d in sys.argv[1:]:
    os.setxattr(d, "trusted.overlay.opaque", b"y")' $OPAQUE)
chmod 0700 "$M/upper/root"; chmod 1777 "$M/upper/tmp" "$M/upper/var/tmp"
mount -t overlay "testhost-$TH_NAME" \
  -o "lowerdir=$TH_LOWER,upperdir=$M/upper,workdir=$M/work" "$R"

# pseudo file systems: a private /proc for the new pid namespace, a minimal /dev
mount -t proc -o nosuid,nodev,noexec proc "$R/proc"
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$R/sys" 2>/dev/null \
  || mount --rbind -o ro /sys "$R/sys" || echo "inner: no /sys"
mount -t tmpfs -o mode=0755,size=1m,nosuid testhost-dev "$R/dev"
for spec in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0; do
  IFS=: read -r n ma mi <<<"$spec"
  mknod -m 0666 "$R/dev/$n" c "$ma" "$mi" 2>/dev/null \
    || { touch "$R/dev/$n"; mount --bind "/dev/$n" "$R/dev/$n"; }
done
mkdir -p "$R/dev/pts" "$R/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts "$R/dev/pts"
ln -s pts/ptmx "$R/dev/ptmx"
mount -t tmpfs -o mode=1777,nosuid,nodev shm "$R/dev/shm"
ln -s /proc/self/fd "$R/dev/fd"
ln -s /proc/self/fd/0 "$R/dev/stdin"; ln -s /proc/self/fd/1 "$R/dev/stdout"
ln -s /proc/self/fd/2 "$R/dev/stderr"
mount -t tmpfs -o mode=0755,nosuid,nodev run "$R/run"
mkdir -p "$R/run/lock" && chmod 1777 "$R/run/lock"

# state dir shared with the host test (shim log, shim state, config)
mkdir -p "$R/var/lib/testhost"
mount --bind "$TH_RUN/state" "$R/var/lib/testhost"
mkdir -p "$R/usr/lib/testhost"
cp "$TH_SRC/shim/thshim.py" "$R/usr/lib/testhost/thshim"
# the shim's CentOS model: the training host's module itself (stdlib only), not a copy of its code
cp "$TH_SRC/../../wizard/training/centos.py" "$R/usr/lib/testhost/centos.py"
cp "$TH_SRC/dress.sh" "$R/usr/lib/testhost/dress.sh"
cp "$TH_SRC/thinit.py" "$TH_SRC/ws_echo.py" "$R/usr/lib/testhost/"
cp "$TH_RUN/keys/client.pub" "$R/usr/lib/testhost/client_key.pub"
mkdir -p "$R/usr/lib/testhost/hostkeys" && cp "$TH_RUN"/hostkeys/* "$R/usr/lib/testhost/hostkeys/"
chmod 0755 "$R/usr/lib/testhost/thshim"
if [ -d "$TH_RUN/seed" ]; then cp -a "$TH_RUN/seed" "$R/usr/lib/testhost/seed"; fi

hostname "$TH_HOSTNAME"
chroot "$R" /bin/bash /usr/lib/testhost/dress.sh

cd "$R"
pivot_root . .
umount -l .
cd /
echo "inner: root ready, exec thinit (sshd)"
# keep what sshd and an installer need; no sys_admin (mount), sys_module,
# sys_rawio, mknod, sys_time, sys_boot, net_admin, sys_ptrace
exec setpriv --bounding-set=-all,+chown,+dac_override,+fowner,+fsetid,+kill,+setgid,+setuid,+setpcap,+net_bind_service,+net_raw,+sys_chroot,+audit_write,+setfcap \
  /usr/bin/python3 -IS /usr/lib/testhost/thinit.py
