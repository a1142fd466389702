"""The CHAT role of the sample site (answers/centos7-https-whatsapp.yaml) written the way a
pyinfra user would write it by hand: templates for the managed files, the operations' own
idempotency, `_if` for the follow-ups. The bench's contender against `chatwizard apply`;
bench/run.py (--only pyinfra) checks that both leave the hosts in the same state.

    CHATROLE_DB_PASSWORD=… pyinfra inventory.py deploy.py -y

inventory.py (written by the bench) puts the hosts in groups chat, data, tel, web, lb and
gives every host `chat_servers` (the chat servers' addresses). Files that a broken version
would take down (haproxy.cfg, the init script) are rendered to a staging folder, checked
(`haproxy -c`, `bash -n`) and only then installed.

Services are restarted with `server.shell` (systemctl), not `systemd.service`: that
operation's fact (`systemctl … list-units`) is beyond the test hosts' systemctl stand-in.
"""
import os
from urllib.parse import quote

from pyinfra import host
from pyinfra.operations import files, python, server

JAVA_RPM = "https://cdn.jtel.de/downloads/java/jdk-8u202-linux-x64.rpm"
SHARED = "/home/jtel/shared"
CM_SOURCE = f"{SHARED}/JTELCarrierPortal/Utils/Install/ClientMessenger"
CM = "/home/jtel/ClientMessenger"
STAGE = "/root/.chatrole"
SERVICE = "jtel-clientmessenger"
groups = host.groups
chat_servers = host.data.chat_servers


def staged(src, dest, check, **kw):
    """Render to the staging folder, check it there, install it only when it changed."""
    name = os.path.basename(dest)
    cand = files.template(name=f"Render {dest}", src=src, dest=f"{STAGE}/{name}", mode="600", **kw)
    return server.shell(name=f"Check and install {dest}",
                        commands=[f"{check} {STAGE}/{name}",
                                  f"install -m {kw_mode(dest)} -o {kw_owner(dest)} {STAGE}/{name} {dest}"],
                        _if=cand.did_change)


def kw_mode(dest):
    # the init script holds the database password: root only (as the wizard installs it)
    return "640" if dest.endswith(".cfg") else "700"


def kw_owner(dest):
    return "root -g haproxy" if dest.endswith(".cfg") else "root -g root"


if "chat" in groups:
    java = server.shell(name="Java 8", commands=[f"rpm -q jdk1.8 >/dev/null || yum -y install {JAVA_RPM}"])
    server.shell(name="ClientMessenger from the repository",
                 commands=[f"[ -e {CM} ] || {{ mkdir -p {CM} && cp -R {CM_SOURCE}/. {CM}/; }}"])
    files.directory(name="ClientMessenger belongs to jtel", path=CM, user="jtel", group="jtel",
                    recursive=True)
    files.template(name="The cluster's hazelcast.xml", src="templates/hazelcast.xml.j2",
                   dest=f"{CM}/conf/hazelcast.xml", user="jtel", group="jtel", mode="644",
                   chat_servers=chat_servers)

if any(g in groups for g in ("data", "tel", "web")):
    hz = files.template(name="hazelcast.xml: the chat servers join", src="templates/hazelcast.xml.j2",
                        dest=f"{SHARED}/hazelcast.xml", user="jtel", group="jtel", mode="644",
                        chat_servers=chat_servers)
    if "data" in groups:
        server.shell(name="updatepl.sh", commands=["/usr/local/bin/updatepl.sh"], _if=hz.did_change)
    if "tel" in groups:
        server.shell(name="Restart PlatformUDPListener", commands=["systemctl restart PlatformUDPListener"],
                     _if=hz.did_change)
    if "web" in groups:
        server.shell(name="updatejb.sh", commands=["/usr/local/bin/updatejb.sh"], _if=hz.did_change)

if "chat" in groups or "lb" in groups:
    files.directory(name="Staging folder", path=STAGE, mode="700")

if "chat" in groups:
    init = staged("templates/jtel-clientmessenger.j2", f"/etc/init.d/{SERVICE}", "bash -n",
                  db_password_url=quote(os.environ["CHATROLE_DB_PASSWORD"], safe=""))
    files.put(name="updatesc.sh", src="updatesc.sh", dest="/usr/local/bin/updatesc.sh",
              user="root", group="root", mode="755")
    server.shell(name="Start at boot", commands=[f"chkconfig --list {SERVICE} 2>/dev/null | grep -q 3:on "
                                                   f"|| chkconfig {SERVICE} on"])
    server.shell(name="Running", commands=[f"service {SERVICE} status >/dev/null || service {SERVICE} start"])
    ports = ["5701-5801/tcp", "3000/tcp"]
else:
    ports = ["3003/tcp"] if "lb" in groups else []

if ports:
    server.shell(name="Firewall ports", commands=[
        " && ".join(f"{{ firewall-cmd --permanent --zone=public --query-port={p} >/dev/null || "
                    f"firewall-cmd --zone=public --add-port={p} --permanent; }}" for p in ports),
        "firewall-cmd --reload"])

if "lb" in groups:
    cfg = staged("templates/haproxy.cfg.j2", "/etc/haproxy/haproxy.cfg", "haproxy -c -f",
                 chat_servers=chat_servers)
    server.shell(name="Reload haproxy", commands=["systemctl reload haproxy"], _if=cfg.did_change)

if host.name == "acd-lb1":
    def tyntec_webhooks():
        """Point TynTec's webhooks at the portal when they do not yet (from this machine)."""
        import json
        import urllib.request
        url = os.environ["CHATROLE_TYNTEC_API"].rstrip("/") + "/applications/default"
        hdr = {"apikey": os.environ["CHATROLE_TYNTEC_KEY"], "Accept": "application/json"}
        with urllib.request.urlopen(urllib.request.Request(url, headers=hdr)) as r:
            have = json.load(r)
        with open(os.path.join(os.path.dirname(os.path.abspath("deploy.py")), "webhooks.json")) as f:
            want = json.load(f)
        if all(w in have.get("webhooks", []) for w in want["webhooks"]):
            return
        req = urllib.request.Request(url, data=json.dumps(want).encode(), method="PATCH",
                                     headers=dict(hdr, **{"Content-Type": "application/json",
                                                          "Accept": "application/problem+json"}))
        urllib.request.urlopen(req).close()
    python.call(name="TynTec webhooks", function=tyntec_webhooks)
