"""Terminal safety (issue 9, finding 3): host output and answers values reach the
engineer's terminal, the logs and the TUI with every control character shown escaped.

The end-to-end check runs the CLI's own printing (`wizard.cli._print_event` fed by the
runner, and `preview.render`) in a child process whose stdout and stderr are a real pty,
with a host whose command prints `ESC ] 0 ; TITLE BEL ESC [ 2 J` (and C1 CSI, CR, BS),
a file whose content holds them too, and reads the bytes that reach the terminal."""
from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import textwrap
from pathlib import Path

from wizard import events as ev
from wizard.termsafe import lines, safe, safe_event, safe_line

REPO = Path(__file__).resolve().parent.parent
HOSTILE = "\x1b]0;TITLE\x07\x1b[2J\x9b31m\rback\x08\x08\x1b]52;c;cHduZWQ=\x07\u202eevil"


def test_safe_escapes_every_control_and_keeps_tabs_and_newlines():
    out = safe(HOSTILE + "\tnext\nline")
    assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out and "\r" not in out
    assert "\x08" not in out and "\u202e" not in out
    assert out.startswith("\\x1b]0;TITLE\\x07\\x1b[2J\\x9b31m\\rback\\x08\\x08")
    assert out.endswith("\\u202eevil\tnext\nline")
    assert safe("plain text: ünïcödé") == "plain text: ünïcödé"
    assert safe_line("a\nb\tc") == "a\\nb\\tc"
    assert safe(None) == ""


def test_lines_split_at_newlines_only():
    # str.splitlines would make a forged line out of a CR, VT, FS or U+2028
    assert lines("one\rtwo\x0bthree\u2028four\nfive\n") == ["one\\rtwo\\x0bthree\\u2028four", "five"]


def test_safe_event_makes_every_text_field_safe():
    e = safe_event(ev.StepFailed("chat1", "java", "desc\x1b[2J", "cmd\x1b]0;x\x07", 1,
                                 "line1\x1b[8m\nline2", "reason\r"))
    assert e.description == "desc\\x1b[2J" and e.display == "cmd\\x1b]0;x\\x07"
    assert e.tail == "line1\\x1b[8m\nline2" and e.reason == "reason\\r" and e.exit_code == 1
    o = safe_event(ev.OutputLine("chat1", "out", "x\ny\x1b"))
    assert o.line == "x\\ny\\x1b"


CHILD = textwrap.dedent(r'''
    import sys
    from wizard import cli, preview
    from wizard.plan import Command, FileChange, HostPlan, Plan, SectionPlan
    from wizard.runner import Runner
    from wizard.transport.base import HostSpec
    from wizard.transport.fake import FakeTransport
    HOSTILE = sys.argv[2]
    t = FakeTransport(HostSpec("chat1", "10.0.0.5"),
                      files={"/etc/motd": ("old " + HOSTILE + "\n").encode()},
                      handlers={r"^cat /etc/motd": (0, "out " + HOSTILE + "\n", "err " + HOSTILE + "\n"),
                                r"^false": (1, "", "failing " + HOSTILE + "\n")})
    plan = Plan([SectionPlan("demo", "Demo", [HostPlan("chat1", [
        Command("show the banner " + HOSTILE, "cat /etc/motd"),
        FileChange("write the banner", "/etc/motd", ("new " + HOSTILE + "\n").encode(),
                   ("old " + HOSTILE + "\n").encode()),
        Command("fail", "false")])])])
    print(preview.render(plan, colour=True))
    Runner(plan, {"chat1": t}, emit=cli._print_event, host_logs=sys.argv[1]).run()
''')


def _through_pty(args: list[str], env: dict) -> bytes:
    master, slave = pty.openpty()
    p = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=REPO, close_fds=True)
    os.close(slave)
    out = b""
    try:
        while True:
            r, _, _ = select.select([master], [], [], 60)
            if not r:
                break
            try:
                chunk = os.read(master, 65536)
            except OSError:          # EIO: the child closed the pty
                break
            if not chunk:
                break
            out += chunk
    finally:
        os.close(master)
        p.wait(timeout=60)
    return out


def test_escapes_from_a_host_never_reach_the_terminal_or_the_logs(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO), CHATWIZARD_STATE_DIR=str(tmp_path / "state"))
    out = _through_pty([sys.executable, "-c", CHILD, str(tmp_path / "hosts"), HOSTILE], env)
    text = out.decode("utf-8", errors="replace")
    assert "show the banner" in text and "out \\x1b]0;TITLE" in text and "failing \\x1b" in text
    assert "+new \\x1b]0;TITLE\\x07\\x1b[2J" in text           # the preview's diff line
    # the only escape sequences on the terminal are the preview's own diff colours
    assert set(re.findall(rb"\x1b[^m]*m?", out)) <= {b"\x1b[32m", b"\x1b[31m", b"\x1b[36m", b"\x1b[0m"}
    assert b"\x07" not in out and b"\x08" not in out and "\x9b" not in text and "\u202e" not in text
    assert b"\x1b]" not in out and b"\x1b[2J" not in out
    log = (tmp_path / "hosts" / "chat1.log").read_bytes()
    assert b"out \\x1b]0;TITLE\\x07\\x1b[2J" in log
    assert not re.search(rb"[\x00-\x08\x0b-\x1f\x7f]", log)
