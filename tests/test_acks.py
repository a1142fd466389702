"""Manual steps in the portal UI ticked off by the engineer (issue 11 item 5): stable ids,
time and user, unticking, kept in the acks sidecar (atomic, several writers), the report
lists each item, `apply` names what is not confirmed at its end, `chatwizard ack`."""
from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
import yaml

from test_session import SAMPLE, cli
from wizard import acks, answers
from wizard.plan import HostPlan, Plan, SectionPlan
from wizard.report import RunRecord, build_report
from wizard.session import Session

REPO = Path(__file__).resolve().parent.parent
WHATSAPP = REPO / "answers" / "centos7-https-whatsapp.yaml"


def site(tmp_path, extra: str = "", name: str = "site.yaml") -> Path:
    p = tmp_path / name
    p.write_text(SAMPLE.read_text() + extra)
    return p


def clock_at(t: float = 1_764_709_380.0):        # 2025-12-02T21:03:00Z
    return lambda: t


def test_items_have_stable_ids_from_the_answers_alone():
    ids = [i.id for i in acks.items(answers.load(str(SAMPLE)))]
    assert ids == ["portal_settings/ACD.Chat.Script.Library.URL", "portal_settings/ACD.Chat.Server.Base.URL",
                   "agents/chat_status", "agents/max_parallel_chats"]
    wa = {i.id: i for i in acks.items(answers.load(str(WHATSAPP)))}
    assert {"whatsapp/ACD.Whatsapp.Server.Base.URL", "whatsapp/connector.whatsapp",
            "whatsapp/connector.api_key", "whatsapp/connector.phone_number",
            "whatsapp/connector.language"} <= set(wa)
    assert wa["whatsapp/connector.phone_number"].confirms == "+4989123456789"
    assert wa["whatsapp/connector.api_key"].confirms == "tyntec/apikey"   # the key's name, never the key


def test_skipped_sections_have_no_items(tmp_path):
    ans = answers.load(str(site(tmp_path, "\nsections:\n  skip: [agents]\n")))
    assert not any(i.section == "agents" for i in acks.items(ans))


def test_the_plan_and_the_answers_give_the_same_items(tmp_path):
    """What the TUI ticks (from the answers) is what the report lists (from the plan)."""
    from wizard.steps import agents, portal_settings
    ans = answers.load(str(SAMPLE))
    plan = Plan([SectionPlan(m.NAME, m.TITLE, [HostPlan("portal (web UI)", m.checklists(ans))])
                 for m in (portal_settings, agents)])
    assert [i.id for i in acks.items_of(plan)] == [i.id for i in acks.items(ans)]


def test_tick_untick_recorded_with_time_and_user(tmp_path):
    path = site(tmp_path)
    s = Session(training=False, clock=clock_at())
    ans = s.load(path)
    [e] = s.ack(["agents/chat_status"], True)
    assert (e.item, e.ticked, e.value, e.at) == ("agents/chat_status", True, "Chat", "2025-12-02T21:03:00Z")
    assert e.by == acks.user_name() and e.by            # the local account
    states = {st.item.id: st for st in s.ack_states(s.manual_items())}
    assert states["agents/chat_status"].confirmed
    assert not states["agents/max_parallel_chats"].confirmed
    assert states["agents/chat_status"].describe() == f"confirmed 2025-12-02 21:03 UTC by {e.by}"
    s.ack(["chat_status"], False)                       # a unique end of an id is enough
    st = {st.item.id: st for st in s.ack_states(s.manual_items(ans))}["agents/chat_status"]
    assert not st.confirmed and st.describe().startswith("not confirmed (unticked 2025-12-02 21:03 UTC")
    events = yaml.safe_load((tmp_path / "site.acks.yaml").read_text())["events"]
    assert [(x["item"], x["ticked"]) for x in events] == [("agents/chat_status", True), ("agents/chat_status", False)]


def test_an_unknown_item_is_refused_with_the_list(tmp_path):
    from wizard.problems import UsageError
    s = Session(training=False)
    s.load(site(tmp_path))
    with pytest.raises(UsageError) as e:
        s.ack(["agents/nope", "URL"], True)            # "URL" matches nothing uniquely either
    assert "agents/nope" in str(e.value) and "agents/max_parallel_chats" in str(e.value)
    assert not (tmp_path / "site.acks.yaml").exists()


def test_a_tick_for_another_value_does_not_count(tmp_path):
    """Ticked for lb1; the answers now name lb2: not confirmed, and it says what was ticked."""
    path = site(tmp_path)
    s = Session(clock=clock_at())
    s.load(path)
    s.ack(["ACD.Chat.Server.Base.URL"], True)
    path.write_text(path.read_text().replace("load_balancer: jtel-portal", "load_balancer: lb2"))
    s2 = Session()
    s2.load(path)
    st = {st.item.id: st for st in s2.ack_states(s2.manual_items())}["portal_settings/ACD.Chat.Server.Base.URL"]
    assert st.stale and not st.confirmed
    assert "ws://jtel-portal:3000" in st.describe() and "ws://lb2:3000" in st.describe()


def test_a_tick_in_german_is_the_same_item_in_english(tmp_path):
    from wizard.i18n import set_language
    path = site(tmp_path)
    try:
        set_language("de")
        s = Session()
        s.load(path)
        german = [i.id for i in s.manual_items()]
        s.ack(["agents/max_parallel_chats"], True)
    finally:
        set_language("en")
    s2 = Session()
    s2.load(path)
    assert [i.id for i in s2.manual_items()] == german
    assert {st.item.id for st in s2.ack_states(s2.manual_items()) if st.confirmed} == {"agents/max_parallel_chats"}


def test_training_ticks_are_kept_apart_from_real_ones(tmp_path):
    path = site(tmp_path)
    assert acks.sidecar_path(str(path), False) == tmp_path / "site.acks.yaml"
    assert acks.sidecar_path(str(path), True) == tmp_path / "site.training.acks.yaml"
    assert acks.sidecar_path(str(tmp_path / "absent.yaml"), False) is None
    t = Session(training=True)
    t.load(path)
    t.ack(["chat_status"])
    real = Session()
    real.load(path)
    assert not any(st.confirmed for st in real.ack_states(real.manual_items()))


def test_ticks_of_unsaved_answers_go_with_them_when_saved(tmp_path):
    """The TUI's new answers (no file yet): ticks kept in memory, written once saved."""
    s = Session()
    ans = answers.load(str(SAMPLE))
    new = tmp_path / "new.yaml"
    s.ack(["chat_status"], True, answers=ans, source=str(new))
    assert s.acks(str(new)).path is None and not list(tmp_path.glob("*.acks.yaml"))
    shutil.copy(SAMPLE, new)                           # saved
    book = s.acks(str(new))
    assert book.path == tmp_path / "new.acks.yaml" and book.path.exists()
    assert [e.item for e in acks.load(book.path)] == ["agents/chat_status"]
    s2 = Session()                                     # a restart of the TUI
    s2.load(new)
    assert {st.item.id for st in s2.ack_states(s2.manual_items()) if st.confirmed} == {"agents/chat_status"}


def test_written_atomically_a_failed_write_leaves_the_old_file(tmp_path, monkeypatch):
    path = site(tmp_path)
    s = Session()
    s.load(path)
    s.ack(["chat_status"])
    side = tmp_path / "site.acks.yaml"
    before = side.read_bytes()

    def broken(src, dst):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(acks.os, "replace", broken)
    with pytest.raises(OSError):
        s.ack(["max_parallel_chats"])
    assert side.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site.acks.yaml", "site.yaml"]   # no temp file left


def test_two_writers_lose_no_tick(tmp_path):
    """The TUI and `chatwizard ack` at the same time: every event is kept (lock + re-read)."""
    path = tmp_path / "site.acks.yaml"
    item = acks.Item("agents/chat_status", "agents", "9", "c", "Agent status", "x", "Chat")
    books = [acks.Book(path), acks.Book(path)]

    def tick(book, n):
        for i in range(n):
            book.mark(item, bool(i % 2), by="t")
    threads = [threading.Thread(target=tick, args=(b, 25)) for b in books]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(acks.load(path)) == 50


def test_a_broken_acks_file_names_itself(tmp_path):
    from wizard.errors import AnswersError
    bad = tmp_path / "site.acks.yaml"
    bad.write_text("acks: 1\nevents:\n  - {item: agents/chat_status, ticked: maybe}\n")
    with pytest.raises(AnswersError) as e:
        acks.load(bad)
    assert str(bad) in str(e.value) and "event 1" in str(e.value)


def test_report_lists_each_item_ticked_or_not_with_its_time(tmp_path):
    from wizard.steps import agents, portal_settings
    path = site(tmp_path)
    s = Session(clock=clock_at())
    ans = s.load(path)
    plan = Plan([SectionPlan(m.NAME, m.TITLE, [HostPlan("portal (web UI)", m.checklists(ans))])
                 for m in (portal_settings, agents)])
    s.ack(["ACD.Chat.Server.Base.URL", "chat_status"])
    s.ack(["chat_status"], False)
    text = build_report(RunRecord(plan), source=str(path), training=False, when="now",
                        acks=s.plan_ack_states(plan))
    user = acks.user_name()
    assert "- manual steps in the portal: **1 of 4 confirmed**" in text
    assert (f"- [x] `ACD.Chat.Server.Base.URL` = `ws://jtel-portal:3000` — confirmed 2025-12-02 21:03 UTC "
            f"by {user}") in text
    assert "- [ ] `ACD.Chat.Script.Library.URL` = `http://jtel-portal:3000/gui/` — not confirmed" in text
    assert f"— not confirmed (unticked 2025-12-02 21:03 UTC by {user})" in text
    assert "`agents/max_parallel_chats`" in text.split("Not confirmed:")[1]


def test_cli_apply_names_the_unconfirmed_steps_last_and_ack_ticks_them(tmp_path):
    path = site(tmp_path)
    rc, out, err = cli(tmp_path, "apply", "--training", "--yes", str(path))
    assert rc == 0, err
    last = out.rstrip().splitlines()[-2:]
    assert last[0].startswith("4 manual steps in the portal not confirmed: "
                              "portal_settings/ACD.Chat.Script.Library.URL, "), last
    assert "agents/max_parallel_chats" in last[0]
    assert f"chatwizard ack --training {path} ITEM…" in last[1]
    report = next(tmp_path.glob("site.report-*.md")).read_text()
    assert "**0 of 4 confirmed**" in report

    rc, out, err = cli(tmp_path, "ack", "--training", str(path), "ACD.Chat.Script.Library.URL",
                       "ACD.Chat.Server.Base.URL", "agents/chat_status")
    assert rc == 0, err
    assert "ticked: agents/chat_status (" in out and "[ ] agents/max_parallel_chats" in out
    rc, out, err = cli(tmp_path, "apply", "--training", "--yes", str(path))
    assert rc == 0 and "Nothing to do." in out, err
    assert out.rstrip().splitlines()[-2].startswith(
        "1 manual step in the portal not confirmed: agents/max_parallel_chats"), out
    rc, out, err = cli(tmp_path, "ack", "--training", str(path), "max_parallel_chats")
    rc, out, err = cli(tmp_path, "apply", "--training", "--yes", str(path))
    assert out.rstrip().splitlines()[-1] == "All 4 manual steps in the portal are confirmed."
    rc, out, err = cli(tmp_path, "ack", "--training", str(path), "agents/nope")
    assert rc == 2 and "no such manual step: agents/nope" in err
    assert not (tmp_path / "site.acks.yaml").exists()       # training ticks only in their own file


def test_a_replay_with_a_second_chat_server_keeps_the_ticks(tmp_path):
    """The same site file with chat2 added: the portal's settings are the same, so are the ticks."""
    path = site(tmp_path)
    s = Session()
    s.load(path)
    s.ack([i.id for i in s.manual_items()])
    path.write_text(path.read_text().replace(
        "      roles: [CHAT, DATA, TEL, WEB, LB]\n",
        "      roles: [CHAT, DATA, TEL, WEB, LB]\n    chat2:\n      address: chat2.invalid\n      roles: [CHAT]\n"))
    s2 = Session()
    ans = s2.load(path)
    assert [h.name for h in ans.hosts] == ["sim", "chat2"]
    assert all(st.confirmed for st in s2.ack_states(s2.manual_items()))
