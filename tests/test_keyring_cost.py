"""The encrypted file keyring's scrypt cost is OWASP's (N=2^17, r=8, p=1), and a file
written at the former cost (N=2^15; the file records it) still opens, and is re-encrypted
at today's cost on its next write (issue 9, finding 7)."""
from __future__ import annotations

import json

import pytest

from wizard.errors import SecretError
from wizard.secrets import EncryptedFileKeyring

MASTER = "correct horse battery staple"


def test_new_files_use_owasp_cost(tmp_path):
    kr = EncryptedFileKeyring(tmp_path / "k.json", password=MASTER)
    kr.set_password("chatwizard", "db/root", "s3cret")
    kdf = json.loads((tmp_path / "k.json").read_text())["kdf"]
    assert (kdf["n"], kdf["r"], kdf["p"]) == (2 ** 17, 8, 1)


def test_a_file_at_the_old_cost_still_opens_and_is_upgraded_on_write(tmp_path):
    path = tmp_path / "k.json"
    old = EncryptedFileKeyring(path, password=MASTER)
    old.KDF = {"n": 2 ** 15, "r": 8, "p": 1}          # as the wizard wrote files before
    old.set_password("chatwizard", "db/root", "s3cret")
    old.set_password("chatwizard", "tyntec/apikey", "api-key")
    assert json.loads(path.read_text())["kdf"]["n"] == 2 ** 15

    now = EncryptedFileKeyring(path, password=MASTER)
    assert now.get_password("chatwizard", "db/root") == "s3cret"
    assert json.loads(path.read_text())["kdf"]["n"] == 2 ** 15   # reading changes nothing
    now.set_password("chatwizard", "ssh/chat1", "pw")
    assert json.loads(path.read_text())["kdf"]["n"] == 2 ** 17
    fresh = EncryptedFileKeyring(path, password=MASTER)
    assert [fresh.get_password("chatwizard", k) for k in ("db/root", "tyntec/apikey", "ssh/chat1")] == \
        ["s3cret", "api-key", "pw"]
    with pytest.raises(SecretError, match="wrong master password"):
        EncryptedFileKeyring(path, password="wrong").get_password("chatwizard", "db/root")


def test_an_absurd_cost_in_a_file_is_refused(tmp_path):
    path = tmp_path / "k.json"
    EncryptedFileKeyring(path, password=MASTER).set_password("chatwizard", "db/root", "x")
    doc = json.loads(path.read_text())
    doc["kdf"]["n"] = 2 ** 30                          # would take gigabytes and minutes
    path.write_text(json.dumps(doc))
    with pytest.raises(SecretError, match="scrypt parameter n="):
        EncryptedFileKeyring(path, password=MASTER).get_password("chatwizard", "db/root")
