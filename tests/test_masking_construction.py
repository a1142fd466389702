"""Secrets masked by construction (issue 9, finding 7 "a DB password `root` masks the word
root everywhere ... while secrets under 3 characters are never masked").

The init script is rendered twice (wizard.secret_text): the preview's diff shows `********`
exactly where the password went, and nowhere else — whatever the password is, however
short, however common a word."""
from __future__ import annotations

import re

import pytest

from test_step_daemon import SEED_INIT, FakeHost, plan_once, use_keyring
from wizard import masking, preview
from wizard.plan import Command, FileChange, HostPlan, Plan, SectionPlan
from wizard.secret_text import MASK, SecretText, mask_spans, render
from wizard.steps import daemon


@pytest.fixture(autouse=True)
def _fresh_registry():
    masking.clear()
    yield
    masking.clear()


def _connection_lines(text: str) -> list[str]:
    return [l for l in text.splitlines() if daemon.CONNECTION_PROPERTY in l]


@pytest.mark.parametrize("password", ["root", "a", "jtel", "3000", "utf8", "JTELWeb"])
def test_password_masked_exactly_where_it_is_used(password, tmp_path, monkeypatch):
    use_keyring(tmp_path, monkeypatch, {"db/root": password})
    actions, ctx = plan_once(FakeHost(init=SEED_INIT))
    fc = actions[0]
    assert isinstance(fc, FileChange)
    plan = Plan([SectionPlan("daemon", daemon.TITLE, [HostPlan("chat1", actions)])])
    shown = preview.render(plan)
    # the connection line: the password's place holds the mask, every other value as written
    added = [l for l in shown.splitlines() if l.lstrip().startswith("+") and daemon.CONNECTION_PROPERTY in l]
    assert len(added) == 1, shown
    assert "?user=root\\&password=********\\&characterEncoding=utf8" in added[0]
    # the mask stands only there (and in the installed script's old line, by position)
    assert shown.count(MASK) == shown.count("password=" + MASK) == 2, shown
    # the rest of the preview keeps the word: owner, user, ports, schema...
    assert "(mode 0700 owner root:root)" in shown
    assert "connection URL for root@acd-dbm/JTELWeb" in shown
    # and what is written holds the password itself
    written = _connection_lines(fc.new.decode())[0]
    assert re.search(r"password=([^\\]*)\\&", written).group(1) == daemon.percent_encode(password)


def test_old_password_of_the_installed_script_masked_by_position(tmp_path, monkeypatch):
    use_keyring(tmp_path, monkeypatch, {"db/root": "new-password-1"})
    installed = SEED_INIT.replace("password=<password>", "password=root")
    fake = FakeHost(init=installed)
    actions, _ = plan_once(fake)
    diff = actions[0].diff()
    removed = [l for l in diff.splitlines() if l.startswith("-") and daemon.CONNECTION_PROPERTY in l]
    assert removed and all("password=********\\&" in l for l in removed), diff
    assert "password=root" not in diff and "new-password-1" not in diff


def test_render_two_forms_and_refuses_a_template_that_hides_where_the_secret_went():
    t = render(lambda v: f"mysql -u root -p{v['db']} --port 3000", db="3000")
    assert t.revealed == "mysql -u root -p3000 --port 3000"
    assert t.shown == "mysql -u root -p******** --port 3000"
    assert str(t) == t.shown and "3000 --" not in repr(t).replace("--port 3000", "")
    import hashlib
    with pytest.raises(ValueError, match="cannot be shown masked"):
        render(lambda v: hashlib.sha256(v["db"].encode()).hexdigest() + " " + v["db"][:3], db="secret-x")
    assert mask_spans("a?password=root&b", r"[?&]password=([^&]*)") == "a?password=********&b"
    assert SecretText.plain("x").shown == "x"


def test_commands_with_secrets_show_their_masked_form_and_others_as_written():
    masking.register("root")          # even with the registry holding it
    c = Command.with_secrets("log in", render(lambda v: f"echo {v['pw']} | chown root:root /x", pw="root"))
    assert c.command == "echo root | chown root:root /x"
    assert c.display == "echo ******** | chown root:root /x"
    assert Command("own", "chown -R root:root /x").display == "chown -R root:root /x"


def test_the_registry_is_only_a_safety_net_and_spares_ordinary_words():
    masking.register("root")
    masking.register("a")
    masking.register("a-long-secret-value")
    assert masking.mask("rooted /root owner x") == "rooted /root owner x"
    assert masking.mask("password=root") == "password=********"
    assert masking.mask("a\nsay a word") == "********\nsay a word"
    assert masking.mask("xa-long-secret-valuey") == "x********y"
