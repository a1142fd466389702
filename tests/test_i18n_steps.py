"""The steps speak German and French: the preview, the install report and the run log of a
whole install on the training host, and a journal written in one language resumes in another.

The plan is the WhatsApp sample (every section, five simulated hosts) planned by the same
session both faces drive; English is the reference the other languages are compared with.
"""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from wizard import answers as answers_mod
from wizard import events as ev
from wizard import i18n, preview, secrets
from wizard.plan import Checklist, NoOp
from wizard.report import build_report
from wizard.runner import executable, event_line
from wizard.session import Session
from wizard.training import SimHost

SAMPLE = Path(__file__).resolve().parent.parent / "answers" / "centos7-https-whatsapp.yaml"


@pytest.fixture
def training(tmp_path, monkeypatch):
    monkeypatch.setenv("CHATWIZARD_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setattr(secrets, "_backend", None)
    secrets.configure_backend("training")
    SimHost.forget_shared()
    yield answers_mod.load(str(SAMPLE))
    SimHost.forget_shared()
    monkeypatch.setattr(secrets, "_backend", None)


def session(ans) -> Session:
    s = Session(training=True)
    s.use(ans)
    return s


def plan_in(ans, lang: str):
    """The sample's plan on a fresh training host, made in LANG."""
    SimHost.shared().reset()
    i18n.set_language(lang)
    s = session(ans)
    try:
        return s.plan()
    finally:
        s.shutdown()


def texts(plan) -> list[str]:
    """What the engineer reads of a plan, one text each: titles, notes, descriptions, checklist
    settings (not their values: parameter names and URLs are the same in every language)."""
    out = [s.title for s in plan.sections]
    out += [n for s in plan.sections for n in s.notes]
    for _s, _h, a in plan.actions():
        out.append(a.description)
        if isinstance(a, Checklist):
            out += [k for k, _v in a.items if not k.startswith("ACD.") and k != "WhatsApp"]
    return out


# section titles that are the same words in that language (a product name and a number)
SAME_TITLE = {"de": {"1. Java 8", "2. ClientMessenger", "6. Firewall", "10. WhatsApp (TynTec)"},
              "fr": {"1. Java 8", "2. ClientMessenger", "10. WhatsApp (TynTec)"}}


@pytest.mark.parametrize("lang,headings", [
    ("de", ["== Erkannt", "== 3. Hazelcast-Cluster", "== 4. ClientMessenger als Daemon",
            "== 7. Load-Balancer (haproxy)", "-- Portal (Web-Oberfläche)",
            "-- TynTec (von diesem Rechner aus)", "Betriebssystem: CentOS 7.9",
            "Java 8 von https://cdn.jtel.de/downloads/java/jdk-8u202-linux-x64.rpm installieren",
            "(nur lesende Prüfung)", "ändernde Aktionen."]),
    ("fr", ["== Détecté", "== 3. Cluster Hazelcast", "== 4. ClientMessenger comme démon",
            "== 6. Pare-feu", "== 7. Équilibreur de charge (haproxy)", "-- portail (interface web)",
            "Installer Java 8 depuis https://cdn.jtel.de/downloads/java/jdk-8u202-linux-x64.rpm",
            "(vérification en lecture seule)", "actions qui modifient."]),
])
def test_the_preview_speaks_the_language_with_no_english_step_left(training, lang, headings):
    english = plan_in(training, "en")
    other = plan_in(training, lang)
    shown = preview.render(other)
    for h in headings:
        assert h in shown, f"{h!r} not in the {lang} preview"
    assert "== Detected" not in shown and "(read-only check)" not in shown
    # the same plan, action for action: only the words differ, never what runs
    pairs = list(zip(english.actions(), other.actions()))
    assert len(pairs) == len(list(english.actions())) == len(list(other.actions()))
    for (_s, _h, a), (_s2, _h2, b) in pairs:
        assert type(a) is type(b)
        if executable(a) or isinstance(a, Checklist):
            assert a.id == b.id, f"{a.description!r}: its id depends on the language"
    # no English text of the English plan is left in the other one
    en_texts = set(texts(english))
    left = [t for t in texts(other) if t in en_texts and t not in SAME_TITLE[lang]]
    assert not left, f"untranslated in {lang}: {left}"
    assert len(texts(other)) == len(texts(english)) > 40
    # and a German/French word appears in every description (not an English one with a
    # translated prefix)
    noops = [a.description for _s, _h, a in other.actions() if isinstance(a, NoOp)]
    assert all(d not in en_texts for d in noops)


def test_the_install_report_and_the_run_log_in_german(training, tmp_path):
    i18n.set_language("de")
    SimHost.shared().reset()
    s = session(training)
    lines: list[str] = []
    try:
        plan = s.plan()
        result = s.run(plan, emit=lambda e: lines.append(event_line(e) or ""))
        assert result.ok, result.failed
        report = build_report(s.record, source="site.yaml", training=True, when="jetzt")
    finally:
        s.shutdown()
    for heading in ("# Installationsbericht der Rolle CHAT", "## Hosts", "## Was wo ausgeführt wurde",
                    "## Checkliste der Portal-Einstellungen", "## Angelegte Sicherungen",
                    "| Host | Schritt | Ergebnis |", "**TRAINING**: gegen den simulierten Trainings-Host",
                    "### 3. Hazelcast-Cluster", "**8. Chat-Parameter (Portal-Oberfläche)**"):
        assert heading in report, heading
    assert "| erledigt |" in report and "| nichts zu tun |" not in report.replace("| nichts zu tun |", "", 0)
    assert "What ran where" not in report and "| host | step | result |" not in report
    assert "- Ergebnis: **nicht ausgeführt**" in report          # the outcome is set by the face
    log = "\n".join(lines)
    assert re.search(r"erledigt in \d+\.\d\d s", log) and "/etc/init.d/jtel-clientmessenger geschrieben" in log
    assert "done in" not in log


CHANGING = re.compile(r"^(yum|mkdir|cp|chown|chkconfig \S+ on|service \S+ (start|restart|reload)|"
                      r"systemctl (restart|reload)|firewall-cmd .*(--add-port|--reload)|"
                      r"\S*update(pl|jb)\.sh)")


def changes_made(host) -> Counter:
    """The changing commands the training host ran (reads, probes and checks left out)."""
    return Counter(line for line in (" ".join(c) for c in host.calls()) if CHANGING.match(line))


def test_a_journal_written_in_english_resumes_in_german(training):
    # the reference: one uninterrupted English install
    i18n.set_language("en")
    SimHost.shared().reset()
    s = session(training)
    try:
        assert s.run(s.plan(), emit=lambda e: None).ok
    finally:
        s.shutdown()
    clean = changes_made(SimHost.shared())
    assert clean["yum -y install https://cdn.jtel.de/downloads/java/jdk-8u202-linux-x64.rpm"] == 1

    # the same install stopped in English after six steps or so, then planned and run in German
    SimHost.forget_shared()
    SimHost.shared().reset()
    s = session(training)
    done: list[str] = []
    try:
        first = s.plan()
        stopped = s.run(first, emit=lambda e: isinstance(e, ev.StepDone) and done.append(e.description),
                        cancelled=lambda: len(done) >= 6)
        # (hosts of one section run side by side: a few more may finish before it stops)
        assert not stopped.ok and 6 <= len(done) < sum(1 for _s, _h, a in first.actions() if executable(a))
        i18n.set_language("de")
        plan = s.plan()
        resumed = [line for line in s.resume_lines()]
        assert resumed, "the German plan does not resume the English journal"
        skipped: list[ev.StepSkipped] = []
        result = s.run(plan, emit=lambda e: isinstance(e, ev.StepSkipped) and skipped.append(e))
        assert result.ok, result.failed
    finally:
        s.shutdown()
    assert changes_made(SimHost.shared()) == clean, "a step ran twice or not at all"
    assert all(e.reason == "im unterbrochenen Lauf erledigt (Journal)" for e in skipped)


def test_a_plan_previewed_in_german_skips_what_an_english_run_journalled(training):
    """The journal knows actions by ids made of what runs, not of their words: the German
    preview of the same state, run after an English run stopped half-way, skips exactly the
    steps the English run finished (by the journal), and runs the rest once."""
    i18n.set_language("en")
    SimHost.shared().reset()
    s = session(training)
    try:
        assert s.run(s.plan(), emit=lambda e: None).ok
    finally:
        s.shutdown()
    clean = changes_made(SimHost.shared())

    SimHost.forget_shared()
    SimHost.shared().reset()
    s = session(training)
    try:
        i18n.set_language("de")
        german = s.plan()                       # previewed in German …
        i18n.set_language("en")
        english = s.plan()                      # … and in English, from the same state
        finished: list[str] = []
        stopped = s.run(english, cancelled=lambda: len(finished) >= 5,
                        emit=lambda e: isinstance(e, ev.StepDone) and finished.append(e.description))
        assert not stopped.ok
        journalled = [a for _s, _h, a in english.actions() if a.changes and a.description in finished]
        assert journalled
        i18n.set_language("de")
        skipped: list[ev.StepSkipped] = []
        result = s.run(german, emit=lambda e: isinstance(e, ev.StepSkipped) and skipped.append(e))
        assert result.ok, result.failed
    finally:
        s.shutdown()
    assert len(skipped) == len(journalled) == result.skipped_journal
    assert {e.reason for e in skipped} == {"im unterbrochenen Lauf erledigt (Journal)"}
    assert changes_made(SimHost.shared()) == clean, "a step ran twice or not at all"
