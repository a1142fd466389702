"""Run: the whole plan previewed once more, then executed in a thread worker with a live
log per host and a progress bar per section. A failure shows the command, its exit code
and output, and offers Retry / Skip / Abort."""
from __future__ import annotations

import re
import threading

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import (Button, ContentSwitcher, Label, ProgressBar, Static, TabbedContent,
                             TabPane)
from textual.worker import get_current_worker

from . import messages as m
from .base import WizardScreen, describe_error
from .model import to_answers
from .pages import DONE, FAILED, PREVIEWED, RUNNING, TITLES
from .report import RunRecord
from .widgets.logview import LogView
from .widgets.planview import PlanView, render_plan


def dom_id(prefix: str, name: str) -> str:
    return f"{prefix}-" + re.sub(r"[^A-Za-z0-9_-]", "-", name)


def executable(action) -> bool:
    from wizard.plan import Command, FileChange, HttpRequest
    return isinstance(action, (Command, FileChange, HttpRequest))


class RunScreen(WizardScreen):
    PAGE = "run"
    BINDINGS = [
        Binding("f9", "run", "Run"),
        Binding("f5", "build", "Preview again"),
        Binding("ctrl+x", "stop", "Stop"),
        Binding("r", "retry", "Retry"),
        Binding("s", "skip_step", "Skip step"),
        Binding("a", "abort", "Abort"),
    ]

    def __init__(self, data: object = None) -> None:
        super().__init__()
        self.plan = None
        self.logs: dict[str, LogView] = {}
        self.totals: dict[str, int] = {}
        self.counts: dict[str, int] = {}
        self.failures: list = []
        self.running = False
        self.stop_requested = threading.Event()
        self.record: RunRecord | None = None

    def compose_main(self) -> ComposeResult:
        yield Static(TITLES[self.PAGE], classes="page-title")
        yield Static("Building the plan…", id="run-summary", markup=False)
        yield VerticalScroll(id="progress")
        with ContentSwitcher(initial="plan-view", id="run-switcher"):
            yield PlanView(id="plan-view")
            yield TabbedContent(id="logs")
        with Vertical(id="failure"):
            yield Static("", id="failure-text", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Retry (r)", id="retry", variant="primary", compact=True)
                yield Button("Skip step (s)", id="skip", variant="warning", compact=True)
                yield Button("Abort (a)", id="abort", variant="error", compact=True)

    def on_mount(self) -> None:
        self.query_one("#failure").display = False
        self.action_build()

    def leave(self, goto: str) -> None:
        """Leaving would cancel the run's worker: stay until the run has ended."""
        if self.running:
            self.notify("A run is in progress: wait for it, or stop it (ctrl+x) first.", severity="warning")
            return
        super().leave(goto)

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        """Retry/Skip/Abort only after a failure; Run only with a plan and nothing running."""
        failed = bool(self.failures) and not self.running
        if action in ("retry", "skip_step", "abort"):
            return failed
        if action == "run":
            return self.plan is not None and not self.running and not self.failures
        if action == "stop":
            return self.running
        if action == "build":
            return not self.running
        return True

    # -- the plan --------------------------------------------------------------------------
    def action_build(self) -> None:
        self.plan = None
        self.refresh_bindings()
        self.query_one("#run-summary", Static).update("Connecting and building the plan…")
        self.build_plan(self.app.snapshot(), self.app.source)

    @work(thread=True, exclusive=True, exit_on_error=False, group="plan")
    def build_plan(self, data: dict, source: str) -> None:
        try:
            plan = self.app.engine.build(to_answers(data, source), self.app.ask_host_key)
        except Exception as e:          # shown on screen
            self.post_message(m.WorkFailed("plan", describe_error(e)))
            return
        self.post_message(m.PlanBuilt(plan, None))

    @on(m.PlanBuilt)
    def plan_built(self, event: m.PlanBuilt) -> None:
        self.plan = event.plan
        self.record = RunRecord(self.plan)
        self.query_one("#plan-view", PlanView).show(render_plan(self.plan))
        self.query_one("#run-switcher", ContentSwitcher).current = "plan-view"
        self.totals = {s.name: sum(1 for hp in s.hosts for a in hp.actions if executable(a))
                       for s in self.plan.sections}
        hosts = sorted({hp.host for s in self.plan.sections for hp in s.hosts
                        if any(executable(a) for a in hp.actions)})
        n = self.plan.changing_count
        self.query_one("#run-summary", Static).update(
            f"{n} changing action{'s' if n != 1 else ''} in {len(self.plan.sections)} sections on "
            f"{len(hosts)} host(s). F9 runs exactly this plan." if n else
            "Nothing to change: every step is already done. F9 still runs the read-only checks.")
        progress = self.query_one("#progress", VerticalScroll)
        progress.remove_children()
        progress.mount_all([Horizontal(Label(s.title, classes="progress-label"),
                                       ProgressBar(total=max(self.totals[s.name], 1), show_eta=False,
                                                   id=dom_id("bar", s.name)), classes="progress-row")
                            for s in self.plan.sections if self.totals[s.name]])
        for s in self.plan.sections:
            if self.app.states.get(s.name) not in (DONE,):
                self.app.set_state(s.name, PREVIEWED)
        self.refresh_bindings()

    @on(m.WorkFailed)
    def work_failed(self, event: m.WorkFailed) -> None:
        self.query_one("#run-summary", Static).update(f"✗ The plan could not be built: {event.text}")
        self.notify(event.text, title=f"{event.what} failed", severity="error", timeout=10)

    # -- running ---------------------------------------------------------------------------
    def action_run(self) -> None:
        if self.plan is None or self.running:
            return
        if self.failures:
            self.notify("A step failed: Retry (r), Skip it (s) or Abort (a).", severity="warning")
            return
        self.start(self.plan)

    def start(self, plan) -> None:
        self.plan = plan
        self.failures = []
        self.running = True
        self.stop_requested.clear()
        self.counts = {name: 0 for name in self.totals}
        for bar in self.query(ProgressBar):
            bar.progress = 0
        self.query_one("#failure").display = False
        self.ensure_logs(plan)
        self.query_one("#run-switcher", ContentSwitcher).current = "logs"
        self.query_one("#run-summary", Static).update("Running… (ctrl+x stops after the current step)")
        self.app.set_state(self.PAGE, RUNNING)
        self.refresh_bindings()
        self.run_plan(plan, self.app.snapshot(), self.app.source)

    def ensure_logs(self, plan) -> None:
        """One log tab per host that has something to run (kept across retries)."""
        tabs = self.query_one("#logs", TabbedContent)
        hosts = [hp.host for s in plan.sections for hp in s.hosts if any(executable(a) for a in hp.actions)]
        for host in dict.fromkeys(hosts):
            if host not in self.logs:
                view = LogView(self.app.log_path(host), id=dom_id("log", host))
                self.logs[host] = view
                tabs.add_pane(TabPane(host, view, id=dom_id("tab", host)))

    def emit(self, event) -> None:
        """The runner's callback (worker threads): log lines here, state changes as messages."""
        from wizard import events as ev
        view = self.logs.get(event.host) or next(iter(self.logs.values()), None)
        if isinstance(event, ev.OutputLine):
            if view is not None:
                view.push(("  ! " if event.stream == "err" else "  | ") + event.line)
            return
        if view is not None:
            if isinstance(event, ev.SectionStarted):
                for v in self.logs.values():
                    v.push(f"== {event.title}")
            elif isinstance(event, ev.StepStarted):
                view.push(f"[{event.index}/{event.total}] {event.description}")
                view.push(f"$ {event.display}")
            elif isinstance(event, ev.FileWritten):
                view.push(f"  wrote {event.path}" + (f" (backup {event.backup})" if event.backup else ""))
            elif isinstance(event, ev.StepSkipped):
                view.push(f"skipped: {event.description} ({event.reason})")
            elif isinstance(event, ev.StepDone):
                view.push(f"  ok ({event.duration_s:.1f} s)")
            elif isinstance(event, ev.StepFailed):
                view.push(f"FAILED: {event.description}: {event.reason}")
        message = m.wrap(event)
        if message is not None:
            self.post_message(message)

    @work(thread=True, exclusive=True, exit_on_error=False, group="run")
    def run_plan(self, plan, data: dict, source: str) -> None:
        worker = get_current_worker()
        try:
            result = self.app.engine.run(plan, to_answers(data, source), emit=self.emit,
                                         cancelled=lambda: worker.is_cancelled or self.stop_requested.is_set())
        except Exception as e:          # the run could not start or broke: shown as a failure
            self.post_message(m.RunFinished(None, describe_error(e)))
            return
        self.post_message(m.RunFinished(result))

    def action_stop(self) -> None:
        if self.running:
            self.stop_requested.set()
            self.query_one("#run-summary", Static).update("Stopping after the current step…")

    # -- events ----------------------------------------------------------------------------
    @on(m.SectionStarted)
    def section_started(self, message: m.SectionStarted) -> None:
        self.app.set_state(message.event.section, RUNNING)

    @on(m.StepFinished)
    @on(m.StepSkipped)
    def step_counted(self, message: m.RunEventHappened) -> None:
        e = message.event
        self.counts[e.section] = self.counts.get(e.section, 0) + 1
        for bar in self.query(f"#{dom_id('bar', e.section)}").results(ProgressBar):
            bar.progress = self.counts[e.section]
        if self.counts[e.section] >= self.totals.get(e.section, 0) and self.app.states.get(e.section) == RUNNING:
            self.app.set_state(e.section, DONE)
        if self.record is not None:
            status = "done" if isinstance(message, m.StepFinished) else f"done earlier ({e.reason})"
            self.record.mark(e.section, e.host, e.description, status)

    @on(m.FileWritten)
    def file_written(self, message: m.FileWritten) -> None:
        e = message.event
        if e.backup and self.record is not None:
            self.record.backups.append((e.host, e.path, e.backup))

    @on(m.StepFailed)
    def step_failed(self, message: m.StepFailed) -> None:
        e = message.event
        self.failures.append(e)
        self.app.set_state(e.section, FAILED)
        if self.record is not None:
            self.record.mark(e.section, e.host, e.description,
                             f"FAILED: {e.reason}" + (f" (exit code {e.exit_code})" if e.exit_code is not None else ""))
        self.show_failures()

    def show_failures(self) -> None:
        parts = []
        for e in self.failures:
            parts.append(f"✗ {e.host}: {e.description}\n  command:   {e.display}\n"
                         f"  exit code: {e.exit_code if e.exit_code is not None else '—'}\n  reason:    {e.reason}")
            if e.tail:
                parts.append("  output (last lines):\n" + "\n".join("    " + l for l in e.tail.splitlines()))
        self.query_one("#failure-text", Static).update("\n".join(parts))
        self.query_one("#failure").display = True

    @on(m.RunFinished)
    def run_finished(self, message: m.RunFinished) -> None:
        self.running = False
        for view in self.logs.values():
            view.flush()
        result = message.result
        summary = self.query_one("#run-summary", Static)
        if message.error is not None:
            summary.update(f"✗ The run stopped: {message.error}")
            self.app.set_state(self.PAGE, FAILED)
            self.notify(message.error, title="Run failed", severity="error", timeout=10)
        elif result.ok:
            for s in self.plan.sections:
                self.app.set_state(s.name, DONE)
            self.app.set_state(self.PAGE, DONE)
            summary.update(f"✓ Done: {result.done} step(s) ran. The report is saved (ctrl+n shows it).")
            self.finish("success")
        elif self.failures:
            summary.update("✗ A step failed: Retry (r), Skip the step (s) or Abort (a).")
            self.app.set_state(self.PAGE, FAILED)
        else:
            summary.update("Stopped. F9 runs again from where it stopped (the journal skips finished steps).")
            self.failures = []
            self.app.set_state(self.PAGE, FAILED)
            self.finish("stopped by the engineer")
        if self.plan is not None and not self.failures:
            for s in self.plan.sections:          # a stopped run: finished sections are done
                if self.app.states.get(s.name) == RUNNING:
                    complete = self.counts.get(s.name, 0) >= self.totals.get(s.name, 0)
                    self.app.set_state(s.name, DONE if complete else PREVIEWED)
        self.refresh_bindings()

    def finish(self, outcome: str) -> None:
        if self.record is not None:           # its plan stays the one previewed (skips are marked)
            self.record.outcome = outcome
            self.app.write_report(self.record)

    # -- after a failure -------------------------------------------------------------------
    def action_retry(self) -> None:
        if self.failures and not self.running:
            self.start(self.plan)

    def action_skip_step(self) -> None:
        if self.failures and not self.running:
            plan = without_failed(self.plan, self.failures)
            for e in self.failures:
                if self.record is not None:
                    self.record.mark(e.section, e.host, e.description, "skipped by the engineer after it failed")
                self.app.set_state(e.section, RUNNING)
            self.start(plan)

    def action_abort(self) -> None:
        if self.failures and not self.running:
            self.query_one("#run-summary", Static).update("Aborted. The report is saved (ctrl+n shows it).")
            self.finish("aborted after a failure")
            self.failures = []
            self.query_one("#failure").display = False
            self.refresh_bindings()

    @on(Button.Pressed, "#retry")
    def retry_pressed(self) -> None:
        self.action_retry()

    @on(Button.Pressed, "#skip")
    def skip_pressed(self) -> None:
        self.action_skip_step()

    @on(Button.Pressed, "#abort")
    def abort_pressed(self) -> None:
        self.action_abort()


def without_failed(plan, failures) -> object:
    """A copy of `plan` where each failed step is a NoOp saying the engineer skipped it."""
    from wizard.plan import HostPlan, NoOp, Plan, SectionPlan
    drop = {(e.section, e.host, e.description) for e in failures}
    sections = []
    for s in plan.sections:
        hosts = []
        for hp in s.hosts:
            actions, done = [], set()
            for a in hp.actions:
                key = (s.name, hp.host, a.description)
                if key in drop and key not in done and executable(a):
                    actions.append(NoOp(f"skipped by the engineer after it failed: {a.description}"))
                    done.add(key)
                else:
                    actions.append(a)
            hosts.append(HostPlan(hp.host, actions))
        sections.append(SectionPlan(s.name, s.title, hosts, list(s.notes)))
    return Plan(sections, training=plan.training, facts=plan.facts)


SCREEN = RunScreen
