"""`chatwizard export pyinfra` end to end: the exported deploy, run by pyinfra itself (a
subprocess, as a service provider's CI runs it), reaches the same end state as `chatwizard
apply` on an identical set of fresh hosts, and a second pyinfra run changes nothing.

The site: 8 hosts, 3 chat servers (one CentOS 6), DATA, TEL (CentOS 6), WEB and two load
balancers (one CentOS 6), https with WhatsApp (TynTec stand-in). Inventory addresses are
fixed (10.0.0.x) and mapped to each set's test hosts by the engineer's ~/.ssh/config, so
the planned files (haproxy server lines, hazelcast members) are the same for both sets.
"""
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import sample_site as ss  # noqa: E402
from endstate import compare, site_state  # noqa: E402

pytest.importorskip("pyinfra")

# name: (address, roles, flavor)
SITE = {
    "chat1": ("10.0.0.21", ("CHAT",), "centos7"),
    "chat2": ("10.0.0.22", ("CHAT",), "centos7"),
    "chat3": ("10.0.0.23", ("CHAT",), "centos6"),
    "acd-dbm": ("10.0.0.10", ("DATA",), "centos7"),
    "acd-tel1": ("10.0.0.11", ("TEL",), "centos6"),
    "acd-web1": ("10.0.0.12", ("WEB",), "centos7"),
    "acd-lb1": ("10.0.0.2", ("LB",), "centos7"),
    "acd-lb2": ("10.0.0.3", ("LB",), "centos6"),
}


def answers(path: Path, api_base: str) -> Path:
    hosts = "\n".join(f"    {n}: {{address: {a}, user: root, key_file: ~/.ssh/id_rsa, roles: [{', '.join(r)}]}}"
                      for n, (a, r, _) in SITE.items())
    path.write_text(f"""version: 1
inventory:
  hosts:
{hosts}
portal: {{version: "3.26", scheme: https, load_balancer: jtel-portal}}
daemon: {{db_host: acd-dbm, db_password: "keyring:db/root", timezone: Europe/Berlin, datadir: auto}}
whatsapp:
  enabled: true
  api_key: keyring:tyntec/apikey
  phone_number: "+4989123456789"
  api_base: {api_base}
""")
    return path


def start_site(host_factory, eng, folder):
    opts = []
    for name, (_, roles, flavor) in SITE.items():
        o = dict(flavor=flavor, hostname=name)
        if "LB" in roles:
            o["jtel"] = False
        if "CHAT" in roles:
            o["datadir"] = "local"
        opts.append(o)
    ths = dict(zip(SITE, host_factory.many(opts)))
    for name, th in ths.items():
        eng.authorize(th)
        ss.prepare_host(th, SITE[name][1], folder)
    eng.ssh_config({SITE[n][0]: th for n, th in ths.items()})
    return {n: (th, SITE[n][1]) for n, th in ths.items()}


def pyinfra(eng, deploy: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("pyinfra")
    return subprocess.run([str(exe), "-y", "inventory.py", "deploy.py"], cwd=deploy, env=eng.vars,
                          capture_output=True, text=True, timeout=300)


def test_exported_deploy_matches_apply_and_is_idempotent(host_factory, tmp_path):
    eng = ss.Engineer(tmp_path / "engineer")
    api = ss.Standin(tmp_path / "tyntec")
    eng.vars["SSL_CERT_FILE"] = api.cert
    try:
        eng.secret("db/root", ss.DB_PASSWORD)
        eng.secret("tyntec/apikey", ss.TYNTEC_KEY)
        site_yaml = answers(tmp_path / "site.yaml", api.base)

        # set A: the wizard
        a = start_site(host_factory, eng, tmp_path / "a")
        p = eng.cli("apply", site_yaml, "--yes")
        assert p.returncode == 0 and "Done:" in p.stdout, p.stdout[-3000:] + p.stderr[-3000:]
        want = site_state(a, calls=True)
        assert len(api.api.patches()) == 1
        for th, _ in a.values():
            th.stop()

        # set B: the same hosts fresh, the exported deploy run by pyinfra
        api.reset()
        b = start_site(host_factory, eng, tmp_path / "b")
        out = tmp_path / "deploy"
        p = eng.cli("export", "pyinfra", site_yaml, out)
        assert p.returncode == 0, p.stdout + p.stderr
        blob = b"".join(f.read_bytes() for f in out.rglob("*") if f.is_file())
        for secret in (ss.DB_PASSWORD, ss.TYNTEC_KEY):
            assert secret.encode() not in blob
        from wizard.initscript import percent_encode
        assert percent_encode(ss.DB_PASSWORD).encode() not in blob
        assert b"disabled_algorithms" in (out / "inventory.py").read_bytes()    # CentOS 6 hosts

        first = pyinfra(eng, out)
        assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-4000:]
        got = site_state(b, calls=True)
        diff = compare(want, got)
        assert diff == [], "\n".join(diff)
        assert len(api.api.patches()) == 1

        second = pyinfra(eng, out)
        assert second.returncode == 0, second.stdout[-4000:] + second.stderr[-4000:]
        diff = compare(got, site_state(b, calls=True))
        assert diff == [], "\n".join(diff)
        assert len(api.api.patches()) == 1
        # pyinfra itself found nothing to do: no operation was added on any host
        assert re.search(r"Grand total\s+-\s+-\s+-\s+-", second.stderr), second.stderr[-3000:]
        assert not re.search(r"Grand total\s+-", first.stderr), first.stderr[-3000:]
    finally:
        api.stop()
