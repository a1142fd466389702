"""Red-team corpus (issue 9): hostile answers values and host behaviours, end to end
through `python -m wizard.cli plan/apply` as an engineer runs it.

1. tests/data/redteam/answers.yaml: hostile values for every kind of key (paths with `$(…)`,
   backticks, quotes, `..`, `/`, control characters, ESC, NUL, system files; service names
   `..`, `-x`; URLs with ESC, NUL, quotes; host names with escapes; huge values). Each ends
   with exit 3 and `site.yaml:LINE: KEY: problem` before anything connects, and the terminal
   receives no control character.
2. Odd but legal values (blanks, `;`, `$HOME`, `@` in names): the planned commands quote
   them correctly (training host: no server needed).
3. Host behaviours on the test hosts: output full of terminal escapes reaches the terminal
   escaped and nothing changes; a jtel-planted symlink at a written path and a `stat` that
   prints garbage depend on the transport fixes of the `sshsplit` branch (xfail until then).
"""
from __future__ import annotations

import copy
import re
import shlex
from pathlib import Path

import pytest
import yaml

from cli_env import Env
from wizard.errors import EXIT_ANSWERS

HERE = Path(__file__).resolve().parent
CASES = yaml.safe_load((HERE / "data" / "redteam" / "answers.yaml").read_text("utf-8"))
HUGE = {"HUGE_PATH": "/usr/local/" + "a" * 200_000 + ".sh", "HUGE_TEXT": "x" * 1_000_000}

BASE = {
    "version": 1,
    "inventory": {"hosts": {"chat1": {"address": "chat1", "roles": ["CHAT", "DATA", "LB"]}}},
    "portal": {"scheme": "https", "load_balancer": "jtel-portal"},
    "hazelcast": {"layout": "legacy"},
    "daemon": {"db_password": "keyring:db/root"},
}
CONTROL = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]")


def with_value(data: dict, dotted: str, value) -> dict:
    out = copy.deepcopy(data)
    d = out
    *parents, last = dotted.split(".")
    for k in parents:
        d = d.setdefault(k, {})
    d[last] = value
    return out


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    return Env(tmp_path_factory.mktemp("redteam"))


def test_the_corpus_is_big_enough():
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['key']}={c['value']!r}"[:60])
def test_hostile_answers_value_stops_before_anything_connects(env, case):
    value = HUGE.get(case["value"], case["value"])
    env.answers.write_text(yaml.safe_dump(with_value(BASE, case["key"], value), allow_unicode=False,
                                          width=10 ** 9))
    p = __import__("subprocess").run(
        [__import__("sys").executable, "-m", "wizard.cli", "plan", str(env.answers)],
        capture_output=True, env=env.vars, cwd=env.home, timeout=120)
    out, err = p.stdout, p.stderr
    text = err.decode("utf-8", "replace")
    assert p.returncode == EXIT_ANSWERS, text[-2000:]
    m = re.search(rf"{re.escape(str(env.answers))}:(\d+): {re.escape(case['key'])}: (.*)", text)
    assert m, text[-2000:]
    assert case["expect"] in text, text[-2000:]
    assert not CONTROL.search(out + err), (out + err)[-500:]          # nothing raw reaches the terminal
    assert len(text) < 5000                                            # a huge value is not echoed
    # nothing connected: no host key learnt, no journal begun
    assert not (env.state / "known_hosts").exists() and not (env.state / "journal").exists()


def test_raw_control_characters_in_the_yaml_text(env):
    env.answers.write_text(yaml.safe_dump(BASE) + "agents: {chat_status: Chat\x1b]0;PWNED\x07}\n")
    rc, out, err = env.run("plan", str(env.answers))
    assert rc == EXIT_ANSWERS
    assert f"{env.answers}:" in err and "the control character U+001B is not allowed" in err
    assert "\x1b" not in out + err and "\x07" not in out + err


# ------------------------------------------------------------------ 2. quoting of legal values

TRAINING = yaml.safe_load((HERE.parent / "answers" / "training.yaml").read_text("utf-8"))
QUOTED = [
    ("clientmessenger.target", "/opt/jtel dir/Client Messenger",
     ["chown -R jtel:jtel '/opt/jtel dir/Client Messenger'"]),
    ("clientmessenger.target", "/opt/jtel;reboot/ClientMessenger",
     ["'/opt/jtel;reboot/ClientMessenger'"]),
    ("clientmessenger.target", "/opt/$HOME/ClientMessenger", ["'/opt/$HOME/ClientMessenger'"]),
    ("clientmessenger.target", "/opt/a&b|c>d/ClientMessenger", ["'/opt/a&b|c>d/ClientMessenger'"]),
    # a legal service name the repository has no script for: a plan error naming host and file
    ("daemon.service", "jtel@chat.1", "host sim: /home/jtel/ClientMessenger/init.d/jtel@chat.1 does not exist"),
]


@pytest.mark.parametrize("key,value,commands", QUOTED, ids=lambda v: str(v)[:40])
def test_odd_but_legal_values_are_quoted_in_the_plan(env, key, value, commands):
    env.answers.write_text(yaml.safe_dump(with_value(TRAINING, key, value)))
    rc, out, err = env.run("plan", "--training", str(env.answers))
    if isinstance(commands, str):
        assert rc == 8 and commands in err, err[-2000:]
        return
    assert rc == 0, err[-2000:]
    shown = [line.strip()[2:] for line in out.splitlines() if line.strip().startswith("$ ")]
    for c in commands:
        assert any(c in s for s in shown), "\n".join(shown)
    # every shown command that names the value parses back to words holding it whole
    for s in shown:
        if value in s.replace("'", ""):
            words = shlex.split(s.replace(";", " ; ") if "'" not in s else s)
            assert any(value in w for w in words), s
