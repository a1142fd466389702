"""connect.connect_all_while: the keyring is unlocked while the handshakes run; its error
wins and no connection stays open; questions are still asked one at a time."""
from __future__ import annotations

import threading
import time

import pytest

from wizard import connect
from wizard.errors import SecretError
from wizard.transport.base import HostSpec


class Conn:
    def __init__(self, spec):
        self.spec, self.closed = spec, False

    def close(self):
        self.closed = True


@pytest.fixture
def opened(monkeypatch):
    made = []

    def one(spec, **kw):
        time.sleep(0.2)                      # a handshake
        c = Conn(spec)
        made.append(c)
        return c
    monkeypatch.setattr(connect, "connect_one", one)
    return made


HOSTS = [HostSpec(f"h{i}", f"10.0.0.{i}") for i in range(3)]


def test_unlock_runs_during_the_handshakes(monkeypatch):
    handshaking, unlocking = threading.Event(), threading.Event()

    def one(spec, **kw):
        handshaking.set()
        assert unlocking.wait(10), "the keyring was not unlocked during the handshake"
        return Conn(spec)
    monkeypatch.setattr(connect, "connect_one", one)
    seen = []

    def unlock():
        seen.append(connect._interactive.locked())   # it holds the questions' lock
        unlocking.set()
        assert handshaking.wait(10), "no handshake ran while the keyring was unlocked"
        return "ok"
    out = connect.connect_all_while(unlock, HOSTS)
    assert list(out) == ["h0", "h1", "h2"] and seen == [True]


def test_a_missing_secret_wins_and_nothing_stays_open(opened):
    def unlock():
        raise SecretError("secret 'db/root' is not in the keyring")
    with pytest.raises(SecretError, match="db/root"):
        connect.connect_all_while(unlock, HOSTS)
    assert len(opened) == 3 and all(c.closed for c in opened)


def test_a_question_waits_for_the_keyring(monkeypatch):
    order = []

    def one(spec, **kw):
        with connect._interactive:                 # e.g. a host key question
            order.append("question")
        return Conn(spec)
    monkeypatch.setattr(connect, "connect_one", one)

    def unlock():
        time.sleep(0.1)
        order.append("keyring")
    connect.connect_all_while(unlock, HOSTS[:1])
    assert order == ["keyring", "question"]
    assert not connect._interactive.locked() and threading.active_count() >= 1


# -- the session: detection runs while the keyring is still being unlocked ------------------

def _session(monkeypatch, resolve_all, detect):
    from wizard import planner, secrets
    from wizard.answers import Answers
    from wizard.session import Session
    monkeypatch.setattr(connect, "connect_one", lambda spec, **kw: Conn(spec))
    monkeypatch.setattr(secrets, "configure_backend", lambda *a, **kw: None)
    monkeypatch.setattr(secrets, "resolve_all", resolve_all)
    monkeypatch.setattr(planner, "detect", detect)
    s = Session()
    s.use(Answers.from_data({"version": 1, "inventory": {"hosts": {
        "chat1": {"address": "192.0.2.10", "roles": ["CHAT"]},
        "dbm": {"address": "192.0.2.2", "roles": ["DATA"]},
        "lb1": {"address": "192.0.2.3", "roles": ["LB"]}}},
        "portal": {"scheme": "http", "load_balancer": "lb"},
        "daemon": {"db_password": "keyring:db/root"}}))
    return s


def test_detection_runs_while_the_keyring_unlocks_and_facts_wait_for_it(monkeypatch):
    detecting, unlocked = threading.Event(), threading.Event()

    def resolve_all(answers):
        assert detecting.wait(10), "detection waited for the keyring"
        time.sleep(0.05)
        unlocked.set()

    def detect(answers, transports):
        detecting.set()
        assert not unlocked.is_set()
        return {n: "facts" for n in transports}
    s = _session(monkeypatch, resolve_all, detect)
    want = {"chat1": "facts", "dbm": "facts", "lb1": "facts"}
    assert s.ensure_facts() == want
    assert unlocked.is_set(), "facts were handed on before the secrets were read"
    assert s.ensure_facts() == want                                      # kept, nothing pending


def test_a_keyring_error_after_detection_is_raised_and_closes_every_connection(monkeypatch):
    def resolve_all(answers):
        raise SecretError("secret 'db/root' is not in the keyring")
    s = _session(monkeypatch, resolve_all, lambda answers, transports: {n: "f" for n in transports})
    with pytest.raises(SecretError, match="db/root"):
        s.ensure_facts()
    assert s.transports == {} and s.facts is None


def test_a_keyring_error_wins_over_a_detection_error(monkeypatch):
    from wizard.errors import PlanError
    gate = threading.Event()

    def resolve_all(answers):
        assert gate.wait(10)
        raise SecretError("wrong master password")

    def detect(answers, transports):
        gate.set()
        raise PlanError("host chat1: not CentOS")
    s = _session(monkeypatch, resolve_all, detect)
    with pytest.raises(SecretError, match="master password"):
        s.ensure_facts()
    assert s.transports == {}


def test_connect_without_secrets_later_waits_for_the_keyring(monkeypatch):
    unlocked = []

    def resolve_all(answers):
        time.sleep(0.1)
        unlocked.append(True)
    s = _session(monkeypatch, resolve_all, lambda answers, transports: {})
    s.connect()
    assert unlocked == [True]
