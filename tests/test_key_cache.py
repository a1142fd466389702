"""The SSH login's key cache (wizard.transport.ssh.auth.load_key): a site's hosts share one
key file, which is loaded (and checked, ~90 ms for RSA) once per process, not per host."""
from __future__ import annotations

import os
import subprocess
import threading

import paramiko

from wizard.transport.ssh import auth


def keygen(path):
    if path.exists():
        path.unlink()
        path.with_suffix(".pub").unlink()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)


def test_a_key_file_is_loaded_once_and_again_when_it_changes(tmp_path, monkeypatch):
    path = tmp_path / "id_ed25519"
    keygen(path)
    loads = []
    real = paramiko.PKey.from_path
    monkeypatch.setattr(paramiko.PKey, "from_path",
                        staticmethod(lambda p, *a, **k: loads.append(p) or real(p, *a, **k)))
    got = []
    threads = [threading.Thread(target=lambda: got.append(auth.load_key(str(path)))) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert loads == [str(path)] and len({id(k) for k in got}) == 1     # five hosts, one load
    first = got[0].get_fingerprint()
    keygen(path)                                                        # the engineer made a new key
    os.utime(path, ns=(1, 1))
    again = auth.load_key(str(path))
    assert len(loads) == 2 and again.get_fingerprint() != first
    path.write_text("not a key\n")                                      # a broken file: said every time
    for _ in range(2):
        try:
            auth.load_key(str(path))
        except Exception:
            pass
        else:
            raise AssertionError("a broken key file loaded")
    assert len(loads) == 4
