#!/bin/bash
# dress.sh - runs chrooted in the fresh overlay root (from inner.sh). Makes it
# look like CentOS 6.10 or 7.9 to an installer: release files, recording
# shims on the CentOS paths, CentOS-style /etc/rc.d/init.d, users (root,
# tester in wheel, jtel 1000:1000), CentOS sudoers (requiretty), the jtel tree
# made by seed.py, sshd.
# Everything written here lands in the tmpfs upper layer only.
set -euo pipefail
F=$TH_FLAVOR
S=/usr/lib/testhost/thshim

# ---- release files ----------------------------------------------------------
rm -f /etc/debian_version /etc/os-release /usr/lib/os-release /etc/lsb-release
if [ "$F" = centos6 ]; then
  echo "CentOS release 6.10 (Final)" > /etc/centos-release
  printf 'CentOS release 6.10 (Final)\nKernel \\r on an \\m\n\n' > /etc/issue
else
  echo "CentOS Linux release 7.9.2009 (Core)" > /etc/centos-release
  echo "cpe:/o:centos:centos:7" > /etc/system-release-cpe
  cat > /usr/lib/os-release <<'EOF'
NAME="CentOS Linux"
VERSION="7 (Core)"
ID="centos"
ID_LIKE="rhel fedora"
VERSION_ID="7"
PRETTY_NAME="CentOS Linux 7 (Core)"
ANSI_COLOR="0;31"
CPE_NAME="cpe:/o:centos:centos:7"
HOME_URL="https://www.centos.org/"
BUG_REPORT_URL="https://bugs.centos.org/"

CENTOS_MANTISBT_PROJECT="CentOS-7"
CENTOS_MANTISBT_PROJECT_VERSION="7"
REDHAT_SUPPORT_PRODUCT="centos"
REDHAT_SUPPORT_PRODUCT_VERSION="7"

EOF
  ln -s ../usr/lib/os-release /etc/os-release
  printf '\\S\nKernel \\r on an \\m\n\n' > /etc/issue
fi
ln -sf centos-release /etc/redhat-release
ln -sf centos-release /etc/system-release

# ---- hide Debian's tools and packaged state an installer could trip on ------
rm -f /usr/bin/apt /usr/bin/apt-get /usr/bin/apt-cache /usr/bin/apt-key \
      /usr/bin/dpkg /usr/bin/dpkg-query /usr/bin/lsb_release
rm -rf /etc/haproxy /etc/default/haproxy
# the machine's Java (Debian alternatives into /usr/lib/jvm, which inner.sh made
# empty): CentOS has none until the installer's yum install brings one
find /etc/alternatives -maxdepth 1 -lname '/usr/lib/jvm/*' -printf '%f\n' |
  while read -r a; do echo "/etc/alternatives/$a"; echo "/usr/bin/$a"; done | xargs -r rm -f
mkdir -p /usr/lib/testhost/bin
if [ -x /usr/sbin/haproxy ]; then      # yum install haproxy puts it back
  mv /usr/sbin/haproxy /usr/lib/testhost/bin/haproxy
fi
# SysV layout of CentOS: /etc/init.d -> rc.d/init.d, empty until packages add scripts
rm -rf /etc/init.d /etc/rc[0-6S].d /etc/rc.local
mkdir -p /etc/rc.d/init.d /etc/rc.d/rc{0,1,2,3,4,5,6}.d
ln -s rc.d/init.d /etc/init.d
for i in 0 1 2 3 4 5 6; do ln -s rc.d/rc$i.d /etc/rc$i.d; done
printf '#!/bin/sh\ntouch /var/lock/subsys/local\n' > /etc/rc.d/rc.local
ln -s rc.d/rc.local /etc/rc.local
rm -rf /etc/systemd/system /usr/lib/systemd/system
if [ "$F" = centos7 ]; then
  mkdir -p /etc/systemd/system/multi-user.target.wants /usr/lib/systemd/system
else
  rm -f /usr/bin/systemctl /bin/systemctl
  rm -rf /etc/systemd
fi
mkdir -p /etc/sysconfig /etc/yum.repos.d /var/lock/subsys /var/log
printf 'NETWORKING=yes\nHOSTNAME=%s\n' "$TH_HOSTNAME" > /etc/sysconfig/network
cat > /etc/yum.repos.d/CentOS-Base.repo <<EOF
[base]
name=CentOS-\$releasever - Base
baseurl=http://vault.centos.org/${F#centos}/os/\$basearch/
gpgcheck=1
EOF
printf '[main]\ncachedir=/var/cache/yum/$basearch/$releasever\nkeepcache=0\n' > /etc/yum.conf
if [ "$F" = centos6 ]; then
  cat > /etc/sysconfig/iptables <<'EOF'
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p icmp -j ACCEPT
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp -m state --state NEW -m tcp --dport 22 -j ACCEPT
-A INPUT -j REJECT --reject-with icmp-host-prohibited
-A FORWARD -j REJECT --reject-with icmp-host-prohibited
COMMIT
EOF
  # CentOS 6's iptables package ships this init script (`service iptables restart`); the
  # shim answers for it (the stub mark tells `service` not to execute it)
  printf '#!/bin/sh\n# testhost-stub\n# chkconfig: 2345 08 92\nexec /usr/sbin/service iptables "$@"\n' \
    > /etc/rc.d/init.d/iptables
  chmod 0755 /etc/rc.d/init.d/iptables
fi

# ---- recording shims on the CentOS paths --------------------------------------
install_shim() { rm -f "$1"; cp "$S" "$1"; chmod 0755 "$1"; }
for p in /usr/bin/yum /usr/bin/rpm /usr/sbin/chkconfig /usr/sbin/service \
         /usr/sbin/iptables /usr/sbin/iptables-save; do install_shim "$p"; done
for p in /usr/sbin/getenforce /usr/sbin/setenforce /usr/sbin/setsebool /usr/sbin/getsebool \
         /usr/sbin/reboot /usr/sbin/shutdown /usr/sbin/poweroff /usr/sbin/halt; do
  install_shim "$p"
done
mkdir -p /etc/selinux
printf 'SELINUX=enforcing\nSELINUXTYPE=targeted\n' > /etc/selinux/config
if [ "$F" = centos7 ]; then
  install_shim /usr/bin/systemctl
  install_shim /usr/bin/firewall-cmd
else
  rm -f /usr/bin/firewall-cmd
fi

# ---- users ----------------------------------------------------------------------
# drop the machine's own login users (uid/gid 1000..59999) from the host's view
/usr/bin/python3 -IS - <<'PY'
def rewrite(path, keep):
    try:
        lines = open(path).read().splitlines()
    except FileNotFoundError:
        return set()
    kept = [l for l in lines if keep(l.split(":"))]
    open(path, "w").write("\n".join(kept) + "\n")
    return {l.split(":")[0] for l in kept}

system = lambda f: len(f) > 2 and f[2].isdigit() and not 1000 <= int(f[2]) < 60000
users = rewrite("/etc/passwd", system)
rewrite("/etc/shadow", lambda f: f[0] in users)
groups = rewrite("/etc/group", system)
rewrite("/etc/gshadow", lambda f: f[0] in groups)
PY
getent group wheel >/dev/null || groupadd -r wheel
groupadd -g 1000 jtel
useradd -m -u 1000 -g jtel -s /bin/bash jtel
useradd -m -s /bin/bash -G wheel tester
printf 'root:%s\ntester:%s\njtel:%s\n' "$TH_PASSWORD" "$TH_PASSWORD" "$TH_PASSWORD" | chpasswd
for u in root tester jtel; do
  h=$(getent passwd "$u" | cut -d: -f6)
  mkdir -p "$h/.ssh"
  cp /usr/lib/testhost/client_key.pub "$h/.ssh/authorized_keys"
  chmod 0700 "$h/.ssh"; chmod 0600 "$h/.ssh/authorized_keys"
  [ "$u" = root ] || chown -R "$u:$u" "$h"
done
# CentOS 6 and 7 both ship "Defaults requiretty"; wheel members give their password
cat > /etc/sudoers <<'EOF'
## /etc/sudoers (testhost: as CentOS 6/7 ship it, comments trimmed)
Defaults   !visiblepw
Defaults    requiretty
Defaults    always_set_home
Defaults    env_reset
Defaults    env_keep =  "COLORS DISPLAY HOSTNAME HISTSIZE INPUTRC KDEDIR LS_COLORS"
Defaults    env_keep += "MAIL PS1 PS2 QTDIR USERNAME LANG LC_ADDRESS LC_CTYPE"
Defaults    env_keep += "LC_COLLATE LC_IDENTIFICATION LC_MEASUREMENT LC_MESSAGES"
Defaults    env_keep += "LC_MONETARY LC_NAME LC_NUMERIC LC_PAPER LC_TELEPHONE"
Defaults    env_keep += "LC_TIME LC_ALL LANGUAGE LINGUAS _XKB_CHARSET XAUTHORITY"
Defaults    secure_path = /sbin:/bin:/usr/sbin:/usr/bin

root    ALL=(ALL)       ALL
%wheel  ALL=(ALL)       ALL

#includedir /etc/sudoers.d
EOF
chmod 0440 /etc/sudoers
rm -rf /etc/sudoers.d; mkdir -p /etc/sudoers.d; chmod 0750 /etc/sudoers.d
mkdir -p /srv /opt /usr/local/{bin,sbin,lib,lib64,etc,include,share,src,libexec,games}
cp -a /etc/skel/. /root/ 2>/dev/null || true

# ---- the jtel tree (seed.py, copied in by inner.sh) --------------------------------
if [ -d /usr/lib/testhost/seed ]; then
  cp -a /usr/lib/testhost/seed/. /
  rm -rf /usr/lib/testhost/seed
  chown -R jtel:jtel /home/jtel
  if [ -d /srv/jtel ]; then chown -R jtel:jtel /srv/jtel; fi
fi

# ---- shim state from the start (config.json "preinstalled", e.g. a JDK) -----------
TESTHOST_NOLOG=1 "$S" _seed

# ---- sshd ------------------------------------------------------------------------
# a fresh host key per run (made by up.sh, outside, in parallel with the rest)
rm -f /etc/ssh/ssh_host_*
for t in $TH_HOSTKEYS; do
  install -m 0600 "/usr/lib/testhost/hostkeys/ssh_host_${t}_key" /etc/ssh/
  install -m 0644 "/usr/lib/testhost/hostkeys/ssh_host_${t}_key.pub" /etc/ssh/
done
rm -rf /usr/lib/testhost/hostkeys
{
  echo "# testhost sshd_config (generated per run)"
  echo "Port $TH_PORT"
  for a in $TH_LISTEN; do echo "ListenAddress $a"; done
  for t in $TH_HOSTKEYS; do echo "HostKey /etc/ssh/ssh_host_${t}_key"; done
  if [ "$TH_CRYPTO" = legacy ]; then   # ~ OpenSSH 5.3p1 (CentOS 6.10)
    echo "HostKeyAlgorithms ssh-rsa"
    echo "PubkeyAcceptedAlgorithms ssh-rsa"
    echo "KexAlgorithms diffie-hellman-group-exchange-sha256,diffie-hellman-group-exchange-sha1,diffie-hellman-group14-sha1"
    echo "Ciphers aes128-ctr,aes192-ctr,aes256-ctr,aes128-cbc,aes256-cbc"
    echo "MACs hmac-sha1,hmac-sha2-256,hmac-sha2-512"
  fi
  cat <<'EOF'
PermitRootLogin yes
PubkeyAuthentication yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM no
UseDNS no
PrintMotd no
PrintLastLog no
MaxStartups 100:30:200
MaxSessions 50
LogLevel INFO
PidFile /run/sshd.pid
AcceptEnv LANG LC_*
Subsystem sftp internal-sftp
EOF
} > /etc/ssh/sshd_config
rm -rf /etc/ssh/sshd_config.d
mkdir -p /run/sshd && chmod 0755 /run/sshd
# known_hosts line for the test client (port 22 is written bare)
hk=$( [ "$TH_PORT" = 22 ] && echo "$TH_IP" || echo "[$TH_IP]:$TH_PORT" )
for t in $TH_HOSTKEYS; do
  echo "$hk $(cut -d' ' -f1,2 "/etc/ssh/ssh_host_${t}_key.pub")"
done > /var/lib/testhost/known_hosts
chmod 0644 /var/lib/testhost/known_hosts
echo "$TH_IP $TH_HOSTNAME" >> /etc/hosts
/usr/sbin/sshd -t -f /etc/ssh/sshd_config
echo "dress: done ($F)"
