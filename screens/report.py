"""The install report: what ran where, the portal settings checklist, the backups made.

`build_report` is pure (no textual) so the run and the tests share it; the screen
shows the saved file.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Markdown, Static

from .base import WizardScreen
from .pages import TITLES


@dataclass
class RunRecord:
    """What a run through the TUI did, kept across retries."""

    plan: object                                   # the last plan run
    steps: dict[tuple[str, str, str], str] = field(default_factory=dict)   # (section, host, step) -> status
    backups: list[tuple[str, str, str]] = field(default_factory=list)      # (host, path, backup)
    outcome: str = "not run"

    def mark(self, section: str, host: str, step: str, status: str) -> None:
        key = (section, host, step)
        if status.startswith("done earlier") and self.steps.get(key, "").startswith("done"):
            return
        self.steps[key] = status


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def build_report(record: RunRecord, *, source: str, training: bool, when: str) -> str:
    """The report as Markdown (every text is already masked by the engine)."""
    from wizard import masking
    from wizard.plan import Checklist, NoOp
    plan = record.plan
    out = ["# CHAT role install report", ""]
    if training:
        out += ["> **TRAINING**: run against the simulated CentOS 7 host; no real server was touched.", ""]
    out += [f"- answers: `{source}`", f"- finished: {when}", f"- outcome: **{record.outcome}**", ""]
    if plan is not None and plan.facts:
        out += ["## Hosts", ""]
        for host, f in plan.facts.items():
            out.append(f"- **{host}**: " + "; ".join(f.summary()[:3]))
        out.append("")
    out += ["## What ran where", ""]
    checklists = []
    for s in (plan.sections if plan is not None else []):
        out += [f"### {s.title}", ""]
        for note in s.notes:
            out.append(f"> {note}")
        rows = []
        for hp in s.hosts:
            for a in hp.actions:
                if isinstance(a, Checklist):
                    checklists.append((s.title, a))
                elif isinstance(a, NoOp):
                    rows.append((hp.host, a.description, "nothing to do"))
                elif a.changes or (s.name, hp.host, a.description) in record.steps:
                    rows.append((hp.host, a.description, record.steps.get((s.name, hp.host, a.description), "not run")))
        if rows:
            out += ["| host | step | result |", "| --- | --- | --- |"]
            out += [f"| {_cell(h)} | {_cell(d)} | {_cell(r)} |" for h, d, r in rows]
        else:
            out.append("Nothing ran here (settings for the portal UI only).")
        out.append("")
    out += ["## Portal settings checklist", ""]
    if checklists:
        for title, c in checklists:
            out.append(f"**{title}**: {c.description}")
            out.append("")
            out += [f"- [ ] `{k}` = `{masking.mask(v)}`" for k, v in c.items]
            out.append("")
    else:
        out += ["None.", ""]
    out += ["## Backups made", ""]
    if record.backups:
        out += [f"- {h}: `{p}` → `{b}`" for h, p, b in record.backups]
    else:
        out.append("None (no existing file was replaced).")
    out.append("")
    return masking.mask("\n".join(out))


class ReportScreen(WizardScreen):
    PAGE = "report"

    def compose_main(self) -> ComposeResult:
        with VerticalScroll(id="form"):
            yield Static(TITLES[self.PAGE], classes="page-title")
            yield Static("", id="report-path", markup=False)
            yield Markdown(id="report")

    def on_mount(self) -> None:
        path, text = self.app.report_path, self.app.report_text
        if text is None:
            self.query_one("#report-path", Static).update("No run yet: the report is written when a run ends (F9).")
            return
        from .app import shown
        self.query_one("#report-path", Static).update(f"Saved as {shown(path)}")
        self.query_one("#report", Markdown).update(text)


SCREEN = ReportScreen
