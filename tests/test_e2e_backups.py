"""Backups of replaced files: listed with `chatwizard backups`, put back with `chatwizard restore`
(previewed as a diff, run like any plan, itself backed up), over real SSH."""
import re

import pytest

from cli_env import Env

pytestmark = pytest.mark.needs_root

ANSWERS = """\
version: 1
inventory:
  hosts:
    chat1: {address: chat1, roles: [CHAT]}
portal: {scheme: http, load_balancer: jtel-portal}
sections: {skip: [java, hazelcast, daemon, firewall, load_balancer]}
"""
HAND_MADE = "#!/bin/sh\n# updatesc.sh as someone once typed it from the English page\nchown jtel:jtelcp /home/jtel/ClientMessenger -r\n"


@pytest.mark.parametrize("flavor", ["centos6", "centos7"])
def test_replaced_file_is_backed_up_listed_and_restored(host_factory, tmp_path, flavor):
    th = host_factory(flavor)
    env = Env(tmp_path)
    env.ssh_config(th)
    env.answers.write_text(ANSWERS)
    th.write("/usr/local/bin/updatesc.sh", HAND_MADE, mode=0o755)

    rc, out, err = env.run("apply", str(env.answers), "--yes")
    assert rc == 0, out + err
    new = th.read("/usr/local/bin/updatesc.sh")
    assert new != HAND_MADE and "chown -R" in new

    rc, out, err = env.run("backups", str(env.answers))
    assert rc == 0, err
    stamp = re.search(r"^(\d{8}T\d{6}Z(?:\.\d+)?)$", out, re.M)[1]
    assert "/usr/local/bin/updatesc.sh" in out
    assert th.read(f"/var/lib/chatwizard/backups/{stamp}/usr/local/bin/updatesc.sh") == HAND_MADE

    rc, out, err = env.run("restore", str(env.answers), "--host", "chat1", "--from", "20000101T000000Z")
    assert rc == 8 and "no backup 20000101T000000Z" in err

    rc, out, err = env.run("restore", str(env.answers), "--host", "chat1", "--from", stamp)
    assert rc == 6 and th.read("/usr/local/bin/updatesc.sh") == new     # no terminal, no --yes
    assert "+chown jtel:jtelcp /home/jtel/ClientMessenger -r" in out      # the preview is a diff

    rc, out, err = env.run("restore", str(env.answers), "--host", "chat1", "--from", stamp, "--yes")
    assert rc == 0, out + err
    assert th.read("/usr/local/bin/updatesc.sh") == HAND_MADE
    rc, out, err = env.run("backups", str(env.answers))
    assert len(re.findall(r"^\d{8}T\d{6}Z", out, re.M)) == 2            # the restore was backed up too
