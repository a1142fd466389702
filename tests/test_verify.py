"""wizard.verify: the pure parts (rendering, /proc/net/tcp, probe commands) and the chat
server checks over the fake transport. End to end: tests/test_e2e_verify.py."""
from __future__ import annotations

from wizard import masking
from wizard.verify import Check, parse_established, render_lines, render_markdown, tcp_probe_command

CHECKS = [Check("chat1", "daemon running", True, proved="pid file /var/run/x.pid (pid 12)"),
          Check("lb1", "WebSocket (wss) through lb1", False, problem="chat2 got | none",
                fix="add its server line\n(section 7)")]


def test_markdown_table_escapes_cells_and_shows_fix_only_on_failure():
    text = render_markdown(CHECKS)
    lines = text.splitlines()
    assert lines[0] == "| host | check | result | what it proved / what is wrong | likely fix |"
    assert lines[2] == "| chat1 | daemon running | ok | pid file /var/run/x.pid (pid 12) |  |"
    assert lines[3] == ("| lb1 | WebSocket (wss) through lb1 | FAILED | chat2 got \\| none | "
                        "add its server line (section 7) |")


def test_plain_lines_and_masking():
    masking.register("s3cr3t-value")
    try:
        lines = render_lines(CHECKS + [Check("TynTec", "webhooks", False, problem="key s3cr3t-value",
                                             fix="")])
    finally:
        masking.clear()
    assert lines[0] == "ok      chat1: daemon running: pid file /var/run/x.pid (pid 12)"
    assert lines[1] == "FAILED  lb1: WebSocket (wss) through lb1: chat2 got | none"
    assert lines[2] == "        fix: add its server line\n(section 7)"
    assert "s3cr3t-value" not in "\n".join(lines)
    assert render_markdown([]).count("\n") == 2


def test_parse_established_counts_local_port_3000_in_state_01():
    text = """  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid
   0: 00000000:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0
   1: 0200C80A:0BB8 0200C80A:D2F4 01 00000000:00000000 00:00000000 00000000     0
   2: 0200C80A:0BB8 0200C80A:D2F6 01 00000000:00000000 00:00000000 00000000     0
   3: 0200C80A:D2F4 0200C80A:0BB8 01 00000000:00000000 00:00000000 00000000     0
   4: 0200C80A:0BB8 0200C80A:D2F8 06 00000000:00000000 00:00000000 00000000     0
"""
    assert parse_established(text, 3000) == 2


def test_tcp_probe_is_quoted_and_bounded():
    assert tcp_probe_command("10.0.0.5", 5701) == "timeout 3 bash -c '</dev/tcp/10.0.0.5/5701'"
    import pytest
    for bad in ("a b", "x;id", "$(id)", "h/../x"):
        with pytest.raises(ValueError):
            tcp_probe_command(bad, 1)
