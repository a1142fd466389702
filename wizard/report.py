"""The install report: what ran where, the portal settings checklist, the backups made.

Pure (no textual, no host): the session fills a `RunRecord` from the runner's events and
both faces write the same Markdown. One report per run, named after its time
(`<answers stem>.report-<UTC>.md` beside the answers file), never overwritten.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from . import events as ev
from . import masking
from .i18n import N_, _


# the outcomes the faces pass (translated where the report is written)
OUTCOMES = (N_("success"), N_("failed"), N_("not run"))


@dataclass
class RunRecord:
    """What a run did, kept across retries of the same plan."""

    plan: object                                   # the last plan run (wizard.plan.Plan)
    steps: dict[tuple[str, str, str], str] = field(default_factory=dict)   # (section, host, step) -> status
    kinds: dict[tuple[str, str, str], str] = field(default_factory=dict)   # -> done | earlier | failed | ""
    backups: list[tuple[str, str, str]] = field(default_factory=list)      # (host, path, backup)
    outcome: str = N_("not run")
    resumed: list[str] = field(default_factory=list)   # what the journal said before the run
    extra: list[tuple[str, str]] = field(default_factory=list)    # (heading, markdown) sections
    attempts: int = 0                                  # runs of this plan started (retries count)
    failures: list[tuple[str, str, str, str]] = field(default_factory=list)  # (section, host, step, reason)

    def mark(self, section: str, host: str, step: str, status: str, kind: str | None = None) -> None:
        """Record a step's status (shown as it is); `kind` (done | earlier | failed) decides
        what a later event may overwrite, whatever the language of `status`."""
        key = (section, host, step)
        if kind is None:       # a caller that gives only the (English) status
            kind = ("earlier" if status.startswith("done earlier") else
                    "done" if status.startswith("done") else "")
        if kind == "earlier" and self.kinds.get(key) in ("done", "earlier"):
            return
        self.steps[key], self.kinds[key] = status, kind

    def observe(self, e: ev.Event) -> None:
        """Take one runner event into the record."""
        if isinstance(e, ev.StepDone):
            self.mark(e.section, e.host, e.description, _("done"), "done")
        elif isinstance(e, ev.StepSkipped):
            self.mark(e.section, e.host, e.description,
                      _("done earlier ({reason})").format(reason=e.reason), "earlier")
        elif isinstance(e, ev.StepFailed):
            self.failures.append((e.section, e.host, e.description, e.reason))
            self.mark(e.section, e.host, e.description,
                      (_("FAILED: {reason} (exit code {code})") if e.exit_code is not None else
                       _("FAILED: {reason}")).format(reason=e.reason, code=e.exit_code), "failed")
        elif isinstance(e, ev.FileWritten) and e.backup:
            self.backups.append((e.host, e.path, e.backup))


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def build_report(record: RunRecord, *, source: str, training: bool, when: str,
                 acks: list | None = None) -> str:
    """The report as Markdown (every text is masked). `acks`: where each manual step in the
    portal UI stands (wizard.acks.State), listed ticked or not with its time."""
    from .plan import Checklist, NoOp
    from .steps import host_label
    plan = record.plan
    ack_by_id = {st.item.id: st for st in acks or ()}
    out = ["# " + _("CHAT role install report"), ""]
    if training:
        out += ["> " + _("**TRAINING**: run against the simulated training host; no real server "
                         "was touched."), ""]
    out += ["- " + _("answers: {source}").format(source=f"`{source}`"),
            "- " + _("finished: {when}").format(when=when),
            "- " + _("outcome: {outcome}").format(outcome=f"**{_(record.outcome)}**")]
    if ack_by_id:
        ok = sum(1 for st in ack_by_id.values() if st.confirmed)
        out.append(_("- manual steps in the portal: **{ok} of {n} confirmed**").format(ok=ok, n=len(ack_by_id)))
    out.append("")
    if record.resumed:
        out += ["## " + _("Resumed from an interrupted run"), ""]
        out += [f"- {_cell(line)}" for line in record.resumed]
        out.append("")
    if plan is not None and getattr(plan, "facts", None):
        out += ["## " + _("Hosts"), ""]
        for host, f in plan.facts.items():
            out.append(f"- **{host}**: " + "; ".join(f.summary()[:3]))
        out.append("")
    out += ["## " + _("What ran where"), ""]
    checklists = []
    for s in (plan.sections if plan is not None else []):
        out += [f"### {s.title}", ""]
        if s.notes:
            out += [f"> {note}" for note in s.notes]
            out.append("")              # a quote block ends at a blank line, not at the table
        rows = []
        for hp in s.hosts:
            for a in hp.actions:
                key = (s.name, hp.host, a.description)
                if isinstance(a, Checklist):
                    checklists.append((s, a))
                elif isinstance(a, NoOp):
                    rows.append((hp.host, a.description, record.steps.get(key, _("nothing to do"))))
                elif a.changes or key in record.steps:
                    rows.append((hp.host, a.description, record.steps.get(key, _("not run"))))
        if rows:
            out += ["| " + " | ".join((_("host"), _("step"), _("result"))) + " |", "| --- | --- | --- |"]
            out += [f"| {_cell(host_label(h))} | {_cell(d)} | {_cell(r)} |" for h, d, r in rows]
        else:
            out.append(_("Nothing ran here (settings for the portal UI only)."))
        out.append("")
    out += ["## " + _("Portal settings checklist"), ""]
    if checklists:
        for s, c in checklists:
            out.append(f"**{s.title}**: {c.description}")
            out.append("")
            for key, setting, value, _confirms in c.entries():
                st = ack_by_id.get(f"{s.name}/{key}")
                box = "[x]" if st is not None and st.confirmed else "[ ]"
                state = f" — {st.describe()}" if st is not None else ""
                out.append(f"- {box} `{setting}` = `{value}`{state}")
            out.append("")
        bad = [st for st in ack_by_id.values() if not st.confirmed]
        if bad:
            from .acks import tick_command
            out += [_("Not confirmed: {items}. Tick them in the TUI (sections 8, 9, 10) or with "
                      "`{command}`.").format(items=", ".join(f"`{st.item.id}`" for st in bad),
                                             command=tick_command(source, training)), ""]
    else:
        out += [_("None."), ""]
    out += ["## " + _("Backups made"), ""]
    if record.backups:
        out += [f"- {h}: `{p}` → `{b}`" for h, p, b in record.backups]
    else:
        out.append(_("None (no existing file was replaced)."))
    out.append("")
    for heading, text in record.extra:
        out += [f"## {heading}", "", text.rstrip(), ""]
    return masking.mask("\n".join(out))


def report_path(folder: Path, stem: str, stamp: str) -> Path:
    """`<folder>/<stem>.report-<stamp>.md`, or with -2, -3… when a report of that second exists."""
    path = folder / f"{stem}.report-{stamp}.md"
    n = 2
    while path.exists():
        path = folder / f"{stem}.report-{stamp}-{n}.md"
        n += 1
    return path


def write_new(path: Path, text: str) -> Path:
    """Write `text` to a new file `path` atomically (temp + link: an existing file is never
    replaced; the name gets -2, -3… instead). Returns the path written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        base, n = path, 2
        while True:
            try:
                os.link(tmp, path)          # fails when the name exists: never overwrites
                break
            except FileExistsError:
                path = base.with_name(f"{base.stem}-{n}{base.suffix}")
                n += 1
    finally:
        os.unlink(tmp)
    return path


# the training answers that ship with the wizard
TRAINING_SAMPLE = Path(__file__).resolve().parent.parent / "answers" / "training.yaml"


def is_builtin(src: str | Path) -> bool:
    """Answers shipped with the wizard (the training sample): reports and saves go elsewhere."""
    try:
        return Path(src).resolve() == TRAINING_SAMPLE.resolve()
    except (OSError, ValueError):
        return False


def report_location(source: str, training: bool) -> tuple[Path, str]:
    """(folder, stem) of a run's reports: beside the answers file, else the state folder
    (the training sample that ships with the wizard, answers not saved anywhere)."""
    if not source.startswith("<") and not is_builtin(source) and (
            Path(source).is_absolute() or Path(source).exists()):
        return Path(source).resolve().parent, Path(source).stem
    from .journal import state_dir
    return state_dir() / "reports", ("training" if training else "chatwizard")
