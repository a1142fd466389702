#!/usr/bin/env python3
"""seed.py - build the jtel tree that the CHAT-role procedure expects on a server.

    seed.py OUTDIR [--portal-version 3.26] [--crlf] [--hazelcast-layout shared|legacy]
                   [--hazelcast-chat] [--members acd-dbm,acd-tel1,acd-web1]
                   [--datadir local|mounted|none]

Writes OUTDIR/home/jtel/... (and OUTDIR/srv/jtel/... for --datadir local). up.sh
runs this before the test host starts; inner.sh copies the tree into the host's
root and dress.sh gives it to the user jtel (uid/gid 1000). Standard library only.

What ends up on the host (paths as the host sees them):

  /home/jtel/shared/JTELCarrierPortal/Utils/Install/ClientMessenger/   (the "repository")
      bin/ClientMessenger.jar, bin/hazelcast-3.10.4.jar,
      bin/mysql-connector-java-5.1.46.jar   small but valid jar (zip) files
      bin/clientmessenger.sh                helper script, mode 0755
      public/index.html, public/gui/chat.js
      conf/hazelcast.xml                    Hazelcast 3.10 config, tcp-ip join
      init.d/jtel-clientmessenger           SysV init script (mode 0644; CRLF with --crlf)
  /home/jtel/shared/JTELCarrierPortal/WebServer/META-INF/MANIFEST.MF
      the portal version, ONLY here: "Implementation-Version: 3.26.0" (CRLF line
      ends, as jar manifests have). Absent with --portal-version none.
  /home/jtel/shared/hazelcast.xml          master copy; only with --hazelcast-layout shared
  /srv/jtel/shared/Data/Clients/           only with --datadir local
  /home/jtel/shared/Data/clients/          only with --datadir mounted
"""
import argparse
import io
import os
import zipfile

CM = "home/jtel/shared/JTELCarrierPortal/Utils/Install/ClientMessenger"
MANIFEST = "home/jtel/shared/JTELCarrierPortal/WebServer/META-INF/MANIFEST.MF"
MASTER_HZ = "home/jtel/shared/hazelcast.xml"
DATADIRS = {"local": "srv/jtel/shared/Data/Clients", "mounted": "home/jtel/shared/Data/clients"}

# The line the procedure rewrites (section 4); kept verbatim, with "\&" because
# it is part of the java command line of a shell script.
CONNECTION_LINE = ("    -Dde.jtel.platform.clientmessenger.connection="
                   "jdbc:mysql://localhost/JTELWeb?user=root\\&password=CHANGEME"
                   "\\&characterEncoding=utf8 \\")
DATADIR_LINE = 'DATADIR="/home/jtel/ClientMessenger/data/"'

INIT_SCRIPT = r"""#!/bin/bash
#
# jtel-clientmessenger  Start/stop the jtel ClientMessenger (chat server)
#
# chkconfig: 2345 96 04
# description: jtel ClientMessenger - the chat server of the jtel ACD portal. \
#              Java daemon; talks to the portal database and joins the \
#              Hazelcast cluster of the platform.
# processname: java
# pidfile: /var/run/jtel-clientmessenger.pid
#
### BEGIN INIT INFO
# Provides:          jtel-clientmessenger
# Required-Start:    $network $remote_fs $syslog
# Required-Stop:     $network $remote_fs $syslog
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: jtel ClientMessenger chat server
### END INIT INFO

NAME=jtel-clientmessenger
BASEDIR=/home/jtel/ClientMessenger
JAVA=/usr/bin/java
PIDFILE=/var/run/$NAME.pid
LOGFILE=/var/log/$NAME.log
LOCKFILE=/var/lock/subsys/$NAME
@DATADIR_LINE@

is_running() {
    [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null
}

start() {
    if is_running; then
        echo "$NAME is already running (pid $(cat "$PIDFILE"))"
        return 0
    fi
    echo -n "Starting $NAME: "
    if [ ! -x "$JAVA" ]; then
        echo "$JAVA not found [FAILED]"
        return 1
    fi
    cd "$BASEDIR" || { echo "[FAILED]"; return 1; }
    nohup $JAVA \
    -server -Xms256m -Xmx1024m \
    -Djava.net.preferIPv4Stack=true \
    -Dfile.encoding=UTF-8 \
    -Dhazelcast.config=$BASEDIR/conf/hazelcast.xml \
    -Dde.jtel.platform.clientmessenger.port=3000 \
    -Dde.jtel.platform.clientmessenger.public=$BASEDIR/public \
    -Dde.jtel.platform.clientmessenger.datadir=$DATADIR \
@CONNECTION_LINE@
    -cp "$BASEDIR/bin/*" de.jtel.platform.clientmessenger.ClientMessenger \
    >> "$LOGFILE" 2>&1 < /dev/null &
    echo $! > "$PIDFILE"
    sleep 1
    if is_running; then
        touch "$LOCKFILE"
        echo "[  OK  ]"
        return 0
    fi
    echo "[FAILED]"
    return 1
}

stop() {
    echo -n "Stopping $NAME: "
    if is_running; then
        kill "$(cat "$PIDFILE")"
        for i in 1 2 3 4 5 6 7 8 9 10; do
            is_running || break
            sleep 1
        done
        is_running && kill -9 "$(cat "$PIDFILE")"
    fi
    rm -f "$PIDFILE" "$LOCKFILE"
    echo "[  OK  ]"
    return 0
}

status() {
    if is_running; then
        echo "$NAME (pid $(cat "$PIDFILE")) is running..."
        return 0
    fi
    if [ -f "$LOCKFILE" ]; then
        echo "$NAME dead but subsys locked"
        return 2
    fi
    echo "$NAME is stopped"
    return 3
}

case "$1" in
    start)   start ;;
    stop)    stop ;;
    restart) stop; start ;;
    condrestart|try-restart) is_running && { stop; start; } || true ;;
    status)  status ;;
    *) echo "Usage: $0 {start|stop|restart|condrestart|status}"; exit 2 ;;
esac
exit $?
""".replace("@DATADIR_LINE@", DATADIR_LINE).replace("@CONNECTION_LINE@", CONNECTION_LINE)

CHAT_STRUCTURES = """\
    <ringbuffer name="CHAT">
        <capacity>500</capacity>
        <backup-count>1</backup-count>
        <async-backup-count>0</async-backup-count>
        <time-to-live-seconds>60</time-to-live-seconds>
        <in-memory-format>BINARY</in-memory-format>
    </ringbuffer>

    <map name="CHATCOUNTERS">
        <in-memory-format>BINARY</in-memory-format>
        <backup-count>0</backup-count>
        <async-backup-count>1</async-backup-count>
        <time-to-live-seconds>600</time-to-live-seconds>
        <max-idle-seconds>0</max-idle-seconds>
        <eviction-policy>LRU</eviction-policy>
        <max-size policy="PER_NODE">5000</max-size>
    </map>

"""


def hazelcast_xml(members, chat=False):
    """A minimal Hazelcast 3.10 configuration (valid against hazelcast-config-3.8
    .. 3.12.xsd), modeled on hazelcast-default-3.10.4.xml: tcp-ip join with the
    platform's members, multicast off."""
    member_lines = "".join("                <member>%s</member>\n" % m for m in members)
    return """<?xml version="1.0" encoding="UTF-8"?>
<!--
    jtel platform Hazelcast configuration (test host fixture).
    Every cluster member (DATA, TEL, WEB, CHAT) keeps the same member list.
-->
<hazelcast xmlns="http://www.hazelcast.com/schema/config"
           xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
           xsi:schemaLocation="http://www.hazelcast.com/schema/config
           http://www.hazelcast.com/schema/config/hazelcast-config-3.10.xsd">

    <group>
        <name>jtel</name>
        <password>jtel-cluster-pass</password>
    </group>
    <management-center enabled="false">http://localhost:8080/hazelcast-mancenter</management-center>
    <properties>
        <property name="hazelcast.logging.type">log4j</property>
    </properties>
    <network>
        <port auto-increment="true" port-count="100">5701</port>
        <outbound-ports>
            <ports>0</ports>
        </outbound-ports>
        <join>
            <multicast enabled="false">
                <multicast-group>224.2.2.3</multicast-group>
                <multicast-port>54327</multicast-port>
            </multicast>
            <tcp-ip enabled="true">
%s            </tcp-ip>
            <aws enabled="false"/>
        </join>
        <interfaces enabled="false">
            <interface>10.10.1.*</interface>
        </interfaces>
        <ssl enabled="false"/>
        <socket-interceptor enabled="false"/>
    </network>
    <partition-group enabled="false"/>
    <executor-service name="default">
        <pool-size>16</pool-size>
        <queue-capacity>0</queue-capacity>
    </executor-service>

    <map name="default">
        <in-memory-format>BINARY</in-memory-format>
        <backup-count>1</backup-count>
        <async-backup-count>0</async-backup-count>
        <time-to-live-seconds>0</time-to-live-seconds>
        <max-idle-seconds>0</max-idle-seconds>
        <eviction-policy>NONE</eviction-policy>
        <max-size policy="PER_NODE">0</max-size>
        <eviction-percentage>25</eviction-percentage>
        <min-eviction-check-millis>100</min-eviction-check-millis>
        <merge-policy>com.hazelcast.map.merge.PutIfAbsentMapMergePolicy</merge-policy>
    </map>

    <map name="SESSIONS">
        <backup-count>1</backup-count>
        <time-to-live-seconds>3600</time-to-live-seconds>
    </map>

%s    <serialization>
        <portable-version>0</portable-version>
    </serialization>

</hazelcast>
""" % (member_lines, CHAT_STRUCTURES if chat else "")


INDEX_HTML = """<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>jtel Chat</title></head>
<body>
<div id="jtel-chat"></div>
<script src="gui/chat.js"></script>
</body>
</html>
"""
CHAT_JS = "/* jtel chat client (test host fixture) */\nwindow.jtelChat = {version: '1.0'};\n"
HELPER_SH = """#!/bin/bash
# clientmessenger.sh - run the ClientMessenger in the foreground (debugging)
cd "$(dirname "$0")/.." && exec /usr/bin/java -cp "bin/*" \\
    de.jtel.platform.clientmessenger.ClientMessenger "$@"
"""


def jar_bytes(title, version, main=None):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        mf = ["Manifest-Version: 1.0", "Implementation-Title: " + title,
              "Implementation-Version: " + version, "Created-By: 1.8.0_202 (Oracle Corporation)"]
        if main:
            mf.append("Main-Class: " + main)
        z.writestr("META-INF/MANIFEST.MF", "\r\n".join(mf) + "\r\n\r\n")
        z.writestr(title.replace(".", "/") + "/package-info.txt", "testhost fake jar\n")
    return buf.getvalue()


def full_version(v):
    """'3.26' -> '3.26.0'; '3.26.1' stays."""
    parts = v.split(".")
    while len(parts) < 3:
        parts.append("0")
    return ".".join(parts)


def build(out, portal_version="3.26", crlf=False, hazelcast_layout="shared",
          hazelcast_chat=False, members=("acd-dbm", "acd-tel1", "acd-web1"), datadir=None):
    def put(rel, data, mode=0o644):
        p = os.path.join(out, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
        os.chmod(p, mode)

    hz = hazelcast_xml(members, chat=hazelcast_chat)
    put(CM + "/bin/ClientMessenger.jar",
        jar_bytes("de.jtel.platform.clientmessenger", full_version(portal_version or "3.26"),
                  main="de.jtel.platform.clientmessenger.ClientMessenger"))
    put(CM + "/bin/hazelcast-3.10.4.jar", jar_bytes("com.hazelcast", "3.10.4"))
    put(CM + "/bin/mysql-connector-java-5.1.46.jar", jar_bytes("com.mysql.jdbc", "5.1.46"))
    put(CM + "/bin/clientmessenger.sh", HELPER_SH, 0o755)
    put(CM + "/public/index.html", INDEX_HTML)
    put(CM + "/public/gui/chat.js", CHAT_JS)
    put(CM + "/conf/hazelcast.xml", hz)
    init = INIT_SCRIPT.replace("\n", "\r\n") if crlf else INIT_SCRIPT
    put(CM + "/init.d/jtel-clientmessenger", init, 0o644)
    if portal_version:
        put(MANIFEST, "Manifest-Version: 1.0\r\nImplementation-Title: JTELCarrierPortal\r\n"
                      "Implementation-Version: %s\r\nImplementation-Vendor: jtel GmbH\r\n"
                      "Created-By: Apache Maven 3.5.4\r\nBuild-Jdk: 1.8.0_202\r\n\r\n"
            % full_version(portal_version))
    if hazelcast_layout == "shared":
        put(MASTER_HZ, hz)
    elif hazelcast_layout != "legacy":
        raise ValueError("hazelcast_layout must be 'shared' or 'legacy'")
    if datadir:
        d = os.path.join(out, DATADIRS[datadir])
        os.makedirs(d, exist_ok=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--portal-version", default="3.26")
    ap.add_argument("--crlf", action="store_true")
    ap.add_argument("--hazelcast-layout", default="shared", choices=["shared", "legacy"])
    ap.add_argument("--hazelcast-chat", action="store_true")
    ap.add_argument("--members", default="acd-dbm,acd-tel1,acd-web1")
    ap.add_argument("--datadir", default="none", choices=["local", "mounted", "none"])
    a = ap.parse_args()
    build(a.out, portal_version=None if a.portal_version in ("", "none") else a.portal_version,
          crlf=a.crlf, hazelcast_layout=a.hazelcast_layout, hazelcast_chat=a.hazelcast_chat,
          members=[m for m in a.members.split(",") if m],
          datadir=None if a.datadir == "none" else a.datadir)


if __name__ == "__main__":
    main()
