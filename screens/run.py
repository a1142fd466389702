"""Run: the whole plan previewed once more, then executed in a thread worker with a live
log per host and a progress bar per section. A failure shows the command, its exit code
and output, and offers Retry / Skip / Abort."""
from __future__ import annotations

import logging
import re
import threading

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import (Button, ContentSwitcher, Label, ProgressBar, Static, TabbedContent,
                             TabPane)
from textual.worker import get_current_worker

from wizard.i18n import N_, _, ngettext
from wizard.report import RunRecord

from . import messages as m
from .base import WizardScreen, describe_error
from .pages import DONE, FAILED, PREVIEWED, RUNNING, STOPPED, title
from .widgets.banner import TrainingBanner
from .widgets.footer import WizardFooter
from .widgets.logview import LogView
from .widgets.planview import PlanView, render_plan
from .widgets.sidebar import Sidebar


def skipped_note(description: str) -> str:
    """What the report and the plan say of a failed step the engineer skipped."""
    return _("skipped by the engineer after it failed: {step}").format(step=description)


def dom_id(prefix: str, name: str) -> str:
    return f"{prefix}-" + re.sub(r"[^A-Za-z0-9_-]", "-", name)


log = logging.getLogger("screens.run")


def executable(action) -> bool:
    from wizard.plan import Command, FileChange, HttpRequest
    return isinstance(action, (Command, FileChange, HttpRequest))


class RunScreen(WizardScreen):
    PAGE = "run"
    BINDINGS = [
        Binding("f9", "run", N_("Run")),
        Binding("f5", "build", N_("Preview again")),
        Binding("ctrl+x", "stop", N_("Stop")),
        Binding("r", "retry", N_("Retry")),
        Binding("s", "skip_step", N_("Skip step")),
        Binding("a", "abort", N_("Abort")),
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
        self.stale = False              # a run ended since the plan was built: plan again first
        self.run_after_build = False    # F9 asked for a run while the plan was being built
        self.skip_failed: list = []     # failed steps the engineer chose to skip
        self.resume: list[str] = []     # what the journals said when the plan was built
        self.summary = lambda: _("Building the plan…")   # () -> the summary, in the current language

    def compose_main(self) -> ComposeResult:
        yield Static(title(self.PAGE), classes="page-title")
        yield Static(self.summary(), id="run-summary", markup=False)
        with VerticalScroll(id="scenario-summary"):               # training: what happened
            yield Static("", id="scenario-summary-text", markup=False)
        yield VerticalScroll(id="progress")
        with ContentSwitcher(initial="plan-view", id="run-switcher"):
            yield PlanView(id="plan-view")
            yield TabbedContent(id="logs")
        with Vertical(id="failure"):
            yield Static("", id="failure-text", markup=False)
            with Horizontal(classes="buttons"):
                yield Button(_("Retry (r)"), id="retry", variant="primary", compact=True)
                yield Button(_("Skip step (s)"), id="skip", variant="warning", compact=True)
                yield Button(_("Abort (a)"), id="abort", variant="error", compact=True)

    def on_mount(self) -> None:
        self.query_one("#failure").display = False
        self.query_one("#scenario-summary").display = False
        self.action_build()

    def say(self, summary) -> None:
        """The summary line: summary() now, and again after a change of language."""
        self.summary = summary
        self.query_one("#run-summary", Static).update(summary())

    async def language_changed(self) -> None:
        """The language changed: every text again in place (a run may be going on: its
        plan, progress and logs stay as they are)."""
        self.query_one(".page-title", Static).update(title(self.PAGE))
        self.say(self.summary)
        for bid, label in (("retry", _("Retry (r)")), ("skip", _("Skip step (s)")), ("abort", _("Abort (a)"))):
            self.query_one(f"#{bid}", Button).label = label
        if self.failures:
            self.show_failures()
        if self.plan is not None:
            self.query_one("#plan-view", PlanView).show(render_plan(self.plan))
        for banner in self.query(TrainingBanner):
            banner.update(banner.text())
        self.query_one(Sidebar).show(self.app.states, set(self.app.problem_pages()))
        self.states_changed()
        self.refresh_bindings()
        footer = self.query_one(WizardFooter)
        footer.call_later(footer.recompose)         # in the footer's own context (its data binds)

    def leave(self, goto: str) -> None:
        """Leaving would cancel the run's worker: stay until the run has ended."""
        if self.running:
            self.notify(_("A run is in progress: wait for it, or stop it (ctrl+x) first."), severity="warning")
            return
        super().leave(goto)

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        """Retry/Skip/Abort only after a failure; Run only with a plan and nothing running."""
        failed = bool(self.failures) and not self.running
        if action in ("retry", "skip_step", "abort"):
            return failed
        if action == "run":
            return (self.plan is not None or self.stale) and not self.running and not self.failures
        if action == "stop":
            return self.running
        if action == "build":
            return not self.running
        return True

    # -- the plan --------------------------------------------------------------------------
    def action_build(self) -> None:
        """Plan again (always from the journals: an interrupted run is resumed)."""
        self.plan = None
        self.refresh_bindings()
        if self.app.issues:
            self.say(lambda: "✗ " + _("The answers have problems (listed above): fix them, then F5 plans again."))
            self.run_after_build = False
            return
        self.say(lambda: _("Connecting and building the plan…"))
        self.build_plan(self.app.snapshot(), self.app.source)

    @work(thread=True, exclusive=True, exit_on_error=False, group="plan")
    def build_plan(self, data: dict, source: str) -> None:
        try:
            session = self.app.session
            session.use(self.app.answers_for(data, source))
            plan = session.plan()
            resume = session.resume_lines()
            # a replay on another server: how it differs from the first install, before the run
            resume += [_("differs from the first install: {difference}").format(difference=d.line)
                       for d in session.fingerprint_differences()]
        except Exception as e:          # shown on screen
            self.post_message(m.WorkFailed("plan", describe_error(e)))
            return
        self.post_message(m.PlanBuilt(plan, None, resume))

    @on(m.PlanBuilt)
    def plan_built(self, event: m.PlanBuilt) -> None:
        self.stale = False
        self.plan = event.plan
        self.resume = list(event.resume or ())
        if self.skip_failed:
            self.plan = without_failed(self.plan, self.skip_failed)
            for e in self.skip_failed:
                if self.record is not None:
                    self.record.mark(e.section, e.host, skipped_note(e.description), _("skipped by the engineer"),
                                     "skipped")
            self.skip_failed = []
        if self.record is None:
            self.record = RunRecord(self.plan, resumed=list(self.resume))
        self.query_one("#plan-view", PlanView).show(render_plan(self.plan))
        self.query_one("#run-switcher", ContentSwitcher).current = "plan-view"
        self.totals = {s.name: sum(1 for hp in s.hosts for a in hp.actions if executable(a))
                       for s in self.plan.sections}
        self.say(self.summary_text)
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
        if self.run_after_build:
            self.run_after_build = False
            self.confirm()

    def hosts_with_work(self) -> list[str]:
        """Inventory hosts the plan changes something on (TynTec, called from here, is none)."""
        from wizard.plan import HttpRequest
        return sorted({hp.host for s in self.plan.sections for hp in s.hosts
                       if any(executable(a) and not isinstance(a, HttpRequest) for a in hp.actions)})

    def summary_text(self) -> str:
        n, hosts = self.plan.changing_count, self.hosts_with_work()
        text = ""
        if self.resume:
            text = _("Before this run:") + "\n" + "\n".join(f"  {line}" for line in self.resume) + "\n"
        if n:
            actions = ngettext("{n} changing action", "{n} changing actions", n).format(n=n)
            sections = ngettext("{n} section", "{n} sections", len(self.plan.sections)).format(
                n=len(self.plan.sections))
            on = ngettext("{n} host", "{n} hosts", len(hosts)).format(n=len(hosts))
            return text + _("{actions} in {sections} on {hosts}. F9 runs exactly this plan.").format(
                actions=actions, sections=sections, hosts=on)
        return text + _("Nothing to change: every step is already done.")

    @on(m.WorkFailed)
    def work_failed(self, event: m.WorkFailed) -> None:
        self.run_after_build = False
        self.say(lambda: "✗ " + _("The plan could not be built: {error}").format(error=event.text))
        self.notify(event.text, title=_("Planning failed"), severity="error", timeout=10)

    # -- running ---------------------------------------------------------------------------
    def action_run(self) -> None:
        """F9: save the answers (the report names the file), plan again if a run ended since
        the plan was shown, ask once, then run exactly the plan shown."""
        if self.running:
            return
        if self.failures:
            self.notify(_("A step failed: Retry (r), Skip it (s) or Abort (a)."), severity="warning")
            return
        if self.app.refuse_with_problems(_("Run")):
            return
        self.app.save_before_run(self.prepare_run)

    def prepare_run(self) -> None:
        if self.plan is None or self.stale:
            self.run_after_build = True
            self.action_build()
        else:
            self.confirm()

    def confirm(self) -> None:
        """One question before anything runs, like the CLI's: changes × hosts."""
        from .app import shown
        from .dialogs import ChoiceDialog
        if self.plan.changing_count == 0:
            self.start(self.plan)           # nothing changes: closes an interrupted record, reports
            return
        n, hosts = self.plan.changing_count, self.hosts_with_work()
        changes = ngettext("{n} change", "{n} changes", n).format(n=n)
        on = ngettext("{n} host", "{n} hosts", len(hosts)).format(n=len(hosts))
        text = _("Apply {changes} on {hosts} ({names})?").format(changes=changes, hosts=on,
                                                               names=", ".join(hosts)) + "\n"
        if self.resume:
            text += "\n".join(self.resume) + "\n"
        if self.app.path is not None:
            text += _("The answers are saved in {path}.").format(path=shown(self.app.path))

        def answered(choice: str | None) -> None:
            if choice == "run":
                self.start(self.plan)
        self.app.push_screen(ChoiceDialog(_("Run the plan?"), text, [("run", _("Run (F9 again)"), "warning"),
                                                                      ("cancel", _("Cancel"), "primary")],
                                          focus="cancel", keys={"f9": "run"}), answered)

    def start(self, plan) -> None:
        self.plan = plan
        self.failures = []
        self.query_one("#scenario-summary").display = False
        self.running = True
        self.stop_requested.clear()
        self.counts = {name: 0 for name in self.totals}
        for bar in self.query(ProgressBar):
            bar.progress = 0
        self.query_one("#failure").display = False
        self.ensure_logs(plan)
        self.query_one("#run-switcher", ContentSwitcher).current = "logs"
        self.say(lambda: _("Running… (ctrl+x stops after the current step)"))
        self.app.set_state(self.PAGE, RUNNING)
        self.refresh_bindings()
        self.run_plan(plan)

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
                view.push("  " + (_("wrote {path} (backup {backup})").format(path=event.path, backup=event.backup)
                                  if event.backup else _("wrote {path}").format(path=event.path)))
            elif isinstance(event, ev.StepSkipped):
                view.push(_("skipped: {step} ({reason})").format(step=event.description, reason=event.reason))
            elif isinstance(event, ev.StepDone):
                view.push("  " + _("ok ({seconds} s)").format(seconds=f"{event.duration_s:.1f}"))
            elif isinstance(event, ev.StepFailed):
                view.push(_("FAILED: {step}: {reason}").format(step=event.description, reason=event.reason))
        message = m.wrap(event)
        if message is not None:
            self.post_message(message)

    @work(thread=True, exclusive=True, exit_on_error=False, group="run")
    def run_plan(self, plan) -> None:
        worker = get_current_worker()
        try:
            result = self.app.session.run(
                plan, emit=self.emit, record=self.record,
                cancelled=lambda: worker.is_cancelled or self.stop_requested.is_set())
            if result.ok:
                try:                                        # the first install's, for replays
                    self.app.session.record_fingerprint()
                except Exception as e:      # the run itself succeeded: said, not a failure
                    log.warning("fingerprint not recorded: %s", describe_error(e))
        except Exception as e:          # the run could not start or broke: shown as a failure
            self.post_message(m.RunFinished(None, describe_error(e)))
            return
        self.post_message(m.RunFinished(result))

    def action_stop(self) -> None:
        if self.running:
            self.stop_requested.set()
            self.say(lambda: _("Stopping after the current step…"))

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

    @on(m.StepFailed)
    def step_failed(self, message: m.StepFailed) -> None:
        e = message.event
        self.failures.append(e)
        self.app.set_state(e.section, FAILED)
        self.show_failures()

    def show_failures(self) -> None:
        parts = []
        for e in self.failures:
            code = e.exit_code if e.exit_code is not None else "—"
            parts.append(f"✗ {e.host}: {e.description}\n" + "\n".join(
                f"  {label:<11}{value}" for label, value in ((_("command:"), e.display), (_("exit code:"), code),
                                                             (_("reason:"), e.reason))))
            if e.tail:
                parts.append("  " + _("output (last lines):") + "\n"
                             + "\n".join("    " + l for l in e.tail.splitlines()))
        self.query_one("#failure-text", Static).update("\n".join(parts))
        self.query_one("#failure").display = True

    @on(m.RunFinished)
    def run_finished(self, message: m.RunFinished) -> None:
        self.running = False
        self.stale = True                   # the hosts changed: F9 plans again from the journal
        for view in self.logs.values():
            view.flush()
        result = message.result
        if message.error is not None:
            self.say(lambda: "✗ " + _("The run stopped: {error}").format(error=message.error))
            self.app.set_state(self.PAGE, FAILED)
            self.notify(message.error, title=_("Run failed"), severity="error", timeout=10)
        elif result.ok:
            for s in self.plan.sections:
                self.app.set_state(s.name, DONE)
            self.app.set_state(self.PAGE, DONE)
            self.finish("success")
            done = result.done
            self.say(lambda: "✓ " + ngettext("Done: {n} step ran. The report is saved (ctrl+n shows it).",
                                             "Done: {n} steps ran. The report is saved (ctrl+n shows it).",
                                             done).format(n=done) + self.manual_note())
        elif self.failures:
            self.say(lambda: "✗ " + _("A step failed: Retry (r), Skip the step (s) or Abort (a)."))
            self.app.set_state(self.PAGE, FAILED)
        else:
            self.failures = []
            self.app.set_state(self.PAGE, STOPPED)
            self.finish(N_("stopped by the engineer"))     # the report translates the outcome
            self.say(lambda: "■ " + _("Stopped, as asked. F9 plans again from where it stopped (the journal "
                                      "skips the finished steps) and asks before it runs.") + self.manual_note())
        if self.plan is not None and not self.failures:
            for s in self.plan.sections:          # a stopped run: finished sections are done
                if self.app.states.get(s.name) == RUNNING:
                    complete = self.counts.get(s.name, 0) >= self.totals.get(s.name, 0)
                    self.app.set_state(s.name, DONE if complete else PREVIEWED)
        self.refresh_bindings()

    def manual_note(self) -> str:
        """The manual portal steps not ticked off yet, said at the end of a run ('' when none)."""
        from wizard.i18n import _
        line = self.app.manual_summary()
        if line is None:
            return ""
        return "\n! " + line + "\n  " + _("Tick each one once it is set in the portal: on the report page "
                                          "(ctrl+n) or on pages 8, 9, 10.")

    def finish(self, outcome: str) -> None:
        """The run is over: its report (one file per run), and a fresh record for the next.
        In training, the scenario's summary (what the trainee met and did) is shown too."""
        self.app.write_report(outcome)
        if self.app.training:
            from wizard.i18n import _
            lines = self.app.session.scenario_summary(self.record)
            text = "\n".join([_("Training summary:")] + [f"  {line}" for line in lines])
            self.query_one("#scenario-summary-text", Static).update(text)
            self.query_one("#scenario-summary").display = True
        self.record = None

    # -- after a failure -------------------------------------------------------------------
    def action_retry(self) -> None:
        """Plan again from the journal (the finished steps are skipped), ask, run."""
        if self.failures and not self.running:
            self.failures = []
            self.query_one("#failure").display = False
            self.prepare_run()

    def action_skip_step(self) -> None:
        """As Retry, with the failed steps left out (recorded as skipped)."""
        if self.failures and not self.running:
            self.skip_failed, self.failures = list(self.failures), []
            self.query_one("#failure").display = False
            self.prepare_run()

    def action_abort(self) -> None:
        if self.failures and not self.running:
            self.finish(N_("aborted after a failure"))
            self.say(lambda: _("Aborted. The report is saved (ctrl+n shows it).") + self.manual_note())
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
                    actions.append(NoOp(skipped_note(a.description)))
                    done.add(key)
                else:
                    actions.append(a)
            hosts.append(HostPlan(hp.host, actions))
        sections.append(SectionPlan(s.name, s.title, hosts, list(s.notes)))
    return Plan(sections, training=plan.training, facts=plan.facts)


SCREEN = RunScreen
