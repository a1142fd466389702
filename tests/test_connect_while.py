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
