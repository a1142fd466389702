"""Secrets: a real encrypted file keyring in tmp_path, backend choice, messages, masking, CLI."""
from __future__ import annotations

import io
import json
import os
import stat
from pathlib import Path

import keyring
import keyring.backend
import pytest
from keyrings.alt.file import EncryptedKeyring, PlaintextKeyring

from wizard import masking, secrets
from wizard.answers import loads
from wizard.errors import EXIT_ANSWERS, EXIT_OK, EXIT_SECRETS, EXIT_USAGE, SecretError
from wizard.secrets import EncryptedFileKeyring, PromptKeyring

MASTER = "test-master-9f2c41"
DB_PW = "p&ss w%rd+#ü"

ANSWERS = """\
version: 1
inventory:
  hosts:
    chat1: {address: 10.0.0.21, password: "keyring:ssh/chat1", roles: [CHAT]}
    acd-dbm: {address: 10.0.0.10, password: "keyring:ssh/chat1", roles: [DATA]}
    acd-lb1: {address: 10.0.0.2, roles: [LB]}
portal: {scheme: https, load_balancer: jtel-portal}
daemon: {db_password: "keyring:db/root"}
whatsapp: {api_key: "keyring:tyntec/apikey"}
"""


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for var in (secrets.ENV_MODE, secrets.ENV_PASSWORD, secrets.ENV_FILE, "PYTHON_KEYRING_BACKEND"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv(secrets.ENV_FILE, str(tmp_path / "kr" / "keyring.json"))
    secrets.reset_backend()
    masking.clear()
    yield
    secrets.reset_backend()
    masking.clear()


@pytest.fixture
def file_keyring(monkeypatch, tmp_path) -> EncryptedFileKeyring:
    monkeypatch.setenv(secrets.ENV_PASSWORD, MASTER)
    b = secrets.configure_backend("file")
    assert isinstance(b, EncryptedFileKeyring)
    masking.clear()                               # the tests look at what get() registers
    return b


# ---------------------------------------------------------------- the encrypted file keyring

def test_values_round_trip_through_the_encrypted_file(file_keyring, tmp_path):
    secrets.set("db/root", DB_PW)
    secrets.set("keyring:tyntec/apikey", "k" * 200)
    assert secrets.get("keyring:db/root") == DB_PW
    assert secrets.get("db/root") == DB_PW
    assert secrets.get("tyntec/apikey") == "k" * 200
    path = tmp_path / "kr" / "keyring.json"
    raw = path.read_bytes()
    assert DB_PW.encode() not in raw and b"p&ss" not in raw and MASTER.encode() not in raw
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(raw)["scheme"] == "scrypt/AES-256-GCM"
    # a new process (a fresh backend) with the same master password reads it back
    secrets.reset_backend()
    assert secrets.get("db/root") == DB_PW
    # and it is a genuine keyring backend: the keyring API works on it
    keyring.set_keyring(EncryptedFileKeyring(path, password=MASTER))
    try:
        assert keyring.get_password("chatwizard", "db/root") == DB_PW
    finally:
        keyring.core._keyring_backend = None


def test_wrong_master_password_is_refused(file_keyring, monkeypatch):
    secrets.set("db/root", DB_PW)
    monkeypatch.setenv(secrets.ENV_PASSWORD, "not-the-master")
    secrets.configure_backend("file")
    with pytest.raises(SecretError, match="wrong master password"):
        secrets.get("db/root")
    with pytest.raises(SecretError, match="wrong master password"):
        secrets.set("db/other", "x-value")


def test_master_password_needed(monkeypatch, tmp_path):
    monkeypatch.setattr(secrets, "_interactive", lambda: False)
    secrets.configure_backend("file")
    with pytest.raises(SecretError, match="CHATWIZARD_KEYRING_PASSWORD"):
        secrets.set("db/root", DB_PW)
    asked = []
    secrets.configure_backend("file", ask=lambda prompt, _kp: asked.append(prompt) or MASTER)
    secrets.set("db/root", DB_PW)
    assert asked and "Master password" in asked[0]
    secrets.configure_backend("file", master_password=MASTER)
    assert secrets.get("db/root") == DB_PW


def test_master_password_asked_twice_on_a_terminal_when_creating(monkeypatch):
    answers = iter([MASTER, MASTER])
    monkeypatch.setattr(secrets, "_interactive", lambda: True)
    monkeypatch.setattr(secrets.getpass, "getpass", lambda prompt="": next(answers))
    secrets.configure_backend("file")
    secrets.set("db/root", DB_PW)
    secrets.configure_backend("file", master_password=MASTER)
    assert secrets.get("db/root") == DB_PW
    mismatch = iter(["one-master", "other-master"])
    monkeypatch.setattr(secrets.getpass, "getpass", lambda prompt="": next(mismatch))
    secrets.configure_backend("file")
    (Path(os.environ[secrets.ENV_FILE])).unlink()
    with pytest.raises(SecretError, match="differ"):
        secrets.set("db/root", DB_PW)


def test_missing_secret_names_key_keypath_and_command(file_keyring):
    with pytest.raises(SecretError) as ei:
        secrets.get("keyring:db/root", keypath="daemon.db_password")
    msg = str(ei.value)
    assert "'db/root'" in msg and "daemon.db_password" in msg
    assert "chatwizard secret set db/root" in msg
    assert ei.value.exit_code == EXIT_SECRETS


def test_get_registers_the_value_with_masking(file_keyring):
    secrets.set("db/root", DB_PW)
    masking.clear()
    value = secrets.get("db/root")
    assert value in masking.known()
    line = f"jdbc:mysql://acd-dbm/JTELWeb?user=root&password={value}"
    assert value not in masking.mask(line)
    from urllib.parse import quote
    assert quote(value, safe="") not in masking.mask(f"password={quote(value, safe='')}")


def test_keys_are_checked(file_keyring):
    for bad in ["keyring:", "db root", "keyring:db root", ""]:
        with pytest.raises(SecretError, match="not a keyring key"):
            secrets.get(bad)
    with pytest.raises(SecretError, match="empty"):
        secrets.set("db/root", "")


def test_delete(file_keyring):
    secrets.set("db/root", DB_PW)
    secrets.delete("keyring:db/root")
    with pytest.raises(SecretError, match="is not in"):
        secrets.get("db/root")
    with pytest.raises(SecretError, match="is not in"):
        secrets.delete("db/root")


# ---------------------------------------------------------------- choosing the backend

def test_plaintext_keyring_is_never_chosen_automatically(monkeypatch):
    # On a headless Linux with keyrings.alt installed, keyring itself would pick the plaintext file.
    for mode in ("auto", "system"):
        try:
            b = secrets.select_backend(mode)
        except SecretError as e:
            assert "CHATWIZARD_KEYRING=file" in str(e)
            continue
        assert not isinstance(b, PlaintextKeyring)
        assert not isinstance(b, EncryptedKeyring)
    assert secrets._refusal(PlaintextKeyring()) == "refused: it stores secrets unencrypted"
    # (built without __init__: it needs pycryptodome, which is not installed)
    assert secrets._refusal(EncryptedKeyring.__new__(EncryptedKeyring)) is not None


def test_plaintext_keyring_is_refused_even_when_configured_for_python(monkeypatch):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    with pytest.raises(SecretError, match="unencrypted"):
        secrets.configure_backend("auto")
    ok, text = secrets.backend_status()
    assert ok is False and "PlaintextKeyring" in text


def test_no_usable_keyring_says_how_to_choose(monkeypatch):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    ok, text = secrets.backend_status()
    assert ok is False
    assert "No usable keyring" in text
    assert "CHATWIZARD_KEYRING=file" in text and "CHATWIZARD_KEYRING=prompt" in text
    with pytest.raises(SecretError) as ei:
        secrets.get("db/root")
    assert ei.value.exit_code == EXIT_SECRETS


def test_auto_falls_back_to_an_existing_keyring_file_only(monkeypatch):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    with pytest.raises(SecretError):
        secrets.select_backend("auto")
    monkeypatch.setenv(secrets.ENV_PASSWORD, MASTER)
    secrets.configure_backend("file")
    secrets.set("db/root", DB_PW)
    b = secrets.configure_backend(None)                    # CHATWIZARD_KEYRING unset: auto
    assert isinstance(b, EncryptedFileKeyring)
    assert secrets.get("db/root") == DB_PW
    with pytest.raises(SecretError, match="No usable system keyring"):
        secrets.select_backend("system")


def test_mode_from_the_environment(monkeypatch):
    monkeypatch.setenv(secrets.ENV_MODE, "prompt")
    assert isinstance(secrets.select_backend(), PromptKeyring)
    monkeypatch.setenv(secrets.ENV_MODE, "file")
    assert isinstance(secrets.select_backend(), EncryptedFileKeyring)
    monkeypatch.setenv(secrets.ENV_MODE, "vault")
    with pytest.raises(SecretError, match="unknown keyring mode 'vault'"):
        secrets.select_backend()


def test_own_backends_are_invisible_to_keyrings_discovery():
    assert not EncryptedFileKeyring.viable and not PromptKeyring.viable
    found = {type(b) for b in keyring.backend.get_all_keyring()}
    assert EncryptedFileKeyring not in found and PromptKeyring not in found


# ---------------------------------------------------------------- prompt mode

def test_prompt_mode_asks_once_and_keeps_nothing(monkeypatch, tmp_path):
    prompts = []
    monkeypatch.setattr(secrets, "_interactive", lambda: True)
    monkeypatch.setattr(secrets.getpass, "getpass", lambda prompt="": prompts.append(prompt) or DB_PW)
    secrets.configure_backend("prompt")
    assert secrets.get("db/root", keypath="daemon.db_password") == DB_PW
    assert secrets.get("keyring:db/root") == DB_PW
    assert len(prompts) == 1 and "db/root" in prompts[0] and "daemon.db_password" in prompts[0]
    assert DB_PW in masking.known()
    assert not (tmp_path / "kr").exists()
    ok, text = secrets.backend_status()
    assert ok and "kept in memory only" in text


def test_prompt_mode_without_a_terminal(monkeypatch):
    monkeypatch.setattr(secrets, "_interactive", lambda: False)
    secrets.configure_backend("prompt")
    with pytest.raises(SecretError, match="was not given"):
        secrets.get("db/root")
    secrets.configure_backend("prompt", ask=lambda key, kp: f"value-of-{key}")
    assert secrets.get("ssh/chat1") == "value-of-ssh/chat1"


# ---------------------------------------------------------------- resolve_all

def test_resolve_all_reports_every_missing_secret_before_anything_connects(file_keyring):
    a = loads(ANSWERS)
    secrets.set("db/root", DB_PW)
    with pytest.raises(SecretError) as ei:
        secrets.resolve_all(a)
    msg = str(ei.value)
    assert "'ssh/chat1' (inventory.hosts.chat1.password, inventory.hosts.acd-dbm.password)" in msg
    assert "chatwizard secret set ssh/chat1" in msg
    assert "tyntec" not in msg                    # whatsapp is off: its key is not needed
    assert DB_PW not in msg
    secrets.set("ssh/chat1", "ssh-Pw-1")
    assert secrets.resolve_all(a) == {"keyring:ssh/chat1": "ssh-Pw-1", "keyring:db/root": DB_PW}
    assert {"ssh-Pw-1", DB_PW} <= masking.known()


def test_resolve_all_with_no_keyring_says_so_once(monkeypatch):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    with pytest.raises(SecretError) as ei:
        secrets.resolve_all(loads(ANSWERS))
    assert str(ei.value).count("No usable keyring") == 1


# ---------------------------------------------------------------- `chatwizard secret`

def run(argv, stdin_text=None):
    out, err = io.StringIO(), io.StringIO()
    code = secrets.secret_command(argv, stdin=io.StringIO(stdin_text) if stdin_text is not None else None,
                                  stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_secret_set_from_stdin_and_delete(monkeypatch):
    monkeypatch.setenv(secrets.ENV_PASSWORD, MASTER)
    code, out, err = run(["--keyring", "file", "set", "keyring:db/root"], DB_PW + "\n")
    assert code == EXIT_OK, err
    assert "stored db/root in the encrypted keyring file" in out
    assert DB_PW not in out + err
    assert secrets.get("db/root") == DB_PW
    code, out, _ = run(["status"])
    assert code == EXIT_OK and "encrypted keyring file" in out
    code, out, _ = run(["delete", "db/root"])
    assert code == EXIT_OK and "deleted db/root" in out
    code, _, err = run(["delete", "db/root"])
    assert code == EXIT_SECRETS and "is not in" in err


def test_secret_set_on_a_terminal_asks_twice_without_echo(monkeypatch):
    monkeypatch.setenv(secrets.ENV_PASSWORD, MASTER)
    monkeypatch.setattr(secrets, "_interactive", lambda: True)
    entries = iter([DB_PW, DB_PW, "one", "two"])
    monkeypatch.setattr(secrets.getpass, "getpass", lambda prompt="": next(entries))
    assert secrets.secret_command(["--keyring", "file", "set", "db/root"]) == EXIT_OK
    assert secrets.get("db/root") == DB_PW
    err = io.StringIO()
    assert secrets.secret_command(["set", "db/root"], stderr=err, stdout=io.StringIO()) == EXIT_SECRETS
    assert "differ" in err.getvalue()
    assert secrets.get("db/root") == DB_PW


def test_secret_command_refusals(monkeypatch):
    monkeypatch.setenv(secrets.ENV_PASSWORD, MASTER)
    assert run(["--keyring", "file", "set", "db/root"], "line one\nline two\n")[0] == EXIT_SECRETS
    assert run(["--keyring", "file", "set", "db/root"], "")[0] == EXIT_SECRETS
    assert run(["--keyring", "file", "set", "db root"], "x-value")[0] == EXIT_SECRETS
    assert run(["--keyring", "prompt", "set", "db/root"], "x-value")[0] == EXIT_SECRETS
    assert run(["frobnicate"])[0] == EXIT_USAGE
    assert run([])[0] == EXIT_USAGE
    assert run(["--help"])[0] == EXIT_OK
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    code, _, err = run(["--keyring", "auto", "status"])
    assert code == EXIT_SECRETS and "CHATWIZARD_KEYRING=file" in err


def test_secret_check(monkeypatch, tmp_path):
    monkeypatch.setenv(secrets.ENV_PASSWORD, MASTER)
    site = tmp_path / "site.yaml"
    site.write_text(ANSWERS)
    secrets.configure_backend("file")
    secrets.set("db/root", DB_PW)
    code, _, err = run(["check", str(site)])
    assert code == EXIT_SECRETS and "ssh/chat1" in err and DB_PW not in err
    secrets.set("ssh/chat1", "ssh-Pw-1")
    code, out, _ = run(["check", str(site)])
    assert code == EXIT_OK and "all 2 secrets" in out and DB_PW not in out
    site.write_text("version: 2\n")
    assert run(["check", str(site)])[0] == EXIT_ANSWERS


def test_training_mode_makes_up_secrets_and_asks_nothing(monkeypatch, tmp_path):
    monkeypatch.setattr(secrets.getpass, "getpass", lambda prompt="": pytest.fail("asked"))
    b = secrets.configure_backend("training")
    assert isinstance(b, secrets.TrainingKeyring)
    assert secrets.get("keyring:db/root") == secrets.TRAINING_SECRET
    secrets.set("ssh/chat1", "typed-in-training")
    assert secrets.get("ssh/chat1") == "typed-in-training"
    assert secrets.resolve_all(loads(ANSWERS))["keyring:db/root"] == secrets.TRAINING_SECRET
    assert not (tmp_path / "kr").exists()
    assert run(["--keyring", "training", "status"])[0] == EXIT_USAGE   # not a --keyring choice
