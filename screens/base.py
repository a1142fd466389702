"""The frame every page shares (header, TRAINING banner, sidebar, footer) and the
generic section screen: explanation, inputs with inline validation, preview.

A screen gets a copy of its slice of the answers and hands it back with
`dismiss(PageLeft(...))`; the app owns the whole answers and the page order.
"""
from __future__ import annotations

import importlib.util
import logging
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Header, Input, Label, Select, Static

from wizard.i18n import N_, _

from .fields import Field, hint
from .messages import PageLeft, PlanBuilt, WorkFailed
from .pages import MARKS, PREVIEWED, PROBLEM, SECTIONS, SKIPPED, TODO, next_page, title
from .widgets.banner import TrainingBanner
from .widgets.footer import WizardFooter
from .widgets.planview import PlanView
from .widgets.sidebar import WIDTH as SIDEBAR_WIDTH, Sidebar
from .widgets.toggles import CheckBox

log = logging.getLogger("screens")

# From this many columns the sidebar stays beside the page (F2 hides it); below, it is a
# drawer over the page (F2 opens it) and the header names the page: PuTTY's 80x24 gets the
# whole width for the form.
WIDE = 100
# A form narrower than this puts each label above its input (inputs stay wide enough to read).
STACKED_BELOW = 72
# A terminal lower than this (PuTTY's 24 rows) gets tighter margins and fewer progress rows.
SHORT_BELOW = 30


def describe_error(e: BaseException) -> str:
    """A masked, one-paragraph message for an exception from the core."""
    from wizard.session import describe_error as describe
    return describe(e)


class WizardScreen(Screen[PageLeft]):
    """A page of the wizard inside the common frame."""

    PAGE: ClassVar[str] = ""
    BINDINGS = [
        Binding("ctrl+n", "go(1)", N_("Next")),
        Binding("ctrl+b", "go(-1)", N_("Back")),
        Binding("f2", "toggle_sidebar", N_("Pages")),
    ]

    def __init__(self, data: object = None) -> None:
        super().__init__()
        self.drawer_open = False        # narrow terminal: the sidebar shown over the page (F2)
        self.focus_before_drawer = None

    def compose(self) -> ComposeResult:
        yield Header()
        if self.app.training:
            yield TrainingBanner()
        with Horizontal(id="frame"):
            yield Sidebar(self.PAGE, self.app.states, set(self.app.problem_pages()), id="sidebar")
            with Vertical(id="main"):
                yield Static("", id="problems", markup=False)
                yield from self.compose_main()
        yield WizardFooter(compact=True)

    def compose_main(self) -> ComposeResult:
        yield from ()

    def collect(self) -> object:
        """This page's slice of the answers as the inputs hold it now (None: no slice)."""
        return None

    def leave(self, goto: str) -> None:
        """Hand the slice back to the app and ask it to show `goto`."""
        self.dismiss(PageLeft(self.PAGE, self.collect(), goto))

    def action_go(self, step: int) -> None:
        target = next_page(self.PAGE, step)
        if target != self.PAGE:
            self.leave(target)

    @on(Sidebar.PageChosen)
    def page_chosen(self, event: Sidebar.PageChosen) -> None:
        if event.page == self.PAGE:
            self.action_close_sidebar()
        else:
            self.leave(event.page)

    def on_screen_resume(self) -> None:
        self.fit_layout()
        self.states_changed()

    # -- the frame at the terminal's width ---------------------------------------------------
    def on_mount(self) -> None:
        self.fit_layout()

    def on_resize(self) -> None:
        self.fit_layout()

    def fit_layout(self) -> None:
        """Sidebar beside the page (wide terminal, unless hidden with F2), as a drawer over it
        (narrow, while open) or away; labels above inputs when the form is narrow."""
        try:
            sidebar, main = self.query_one(Sidebar), self.query_one("#main")
        except Exception:               # not composed yet
            return
        width = self.app.size.width
        wide = width >= WIDE
        docked = wide and not self.app.sidebar_hidden
        if wide:
            self.drawer_open = False
        self.set_class(self.app.size.height < SHORT_BELOW, "-short")
        sidebar.set_class(not wide, "-drawer")
        sidebar.display = docked or self.drawer_open
        main.set_class(width - (SIDEBAR_WIDTH if docked else 0) < STACKED_BELOW, "-stacked")
        self.show_title(docked)

    def show_title(self, docked: bool | None = None) -> None:
        """Without the sidebar beside it, the header names the page and its state."""
        if docked is None:
            docked = self.app.size.width >= WIDE and not self.app.sidebar_hidden
        if docked:
            self.title = None
            return
        state = PROBLEM if self.PAGE in self.app.problem_pages() else self.app.states.get(self.PAGE, TODO)
        self.title = f"{MARKS.get(state, ' ')} {title(self.PAGE)}"

    def action_toggle_sidebar(self) -> None:
        """F2: hide/show the sidebar (wide terminal), open/close the drawer (narrow)."""
        if self.app.size.width >= WIDE:
            self.app.sidebar_hidden = not self.app.sidebar_hidden
            self.fit_layout()
        elif self.drawer_open:
            self.action_close_sidebar()
        else:
            self.focus_before_drawer = self.focused
            self.drawer_open = True
            self.fit_layout()
            self.query_one(Sidebar).focus()

    def action_close_sidebar(self) -> None:
        """Escape (or the current page chosen again) closes the drawer."""
        if not self.drawer_open:
            return
        self.drawer_open = False
        self.fit_layout()
        before, self.focus_before_drawer = self.focus_before_drawer, None
        if before is not None and before.is_attached:
            before.focus()
        else:
            self.focus_next()

    async def language_changed(self) -> None:
        """The language changed: compose the page again in it, with what was typed (taken
        into the answers first, as when the page is left) and the focus where it was."""
        from textual.widgets import Checkbox, SelectionList
        focused = self.focused.id if self.focused is not None else None
        self.app.store(self.PAGE, self.collect())
        # the new inputs report the values they are given: not an edit (a preview stays valid)
        with self.prevent(Input.Changed, Select.Changed, Checkbox.Changed, SelectionList.SelectedChanged):
            await self.recompose()
        self.recomposed()
        if focused:
            for w in self.query(f"#{focused}"):
                w.focus()
                break
        self.refresh_bindings()

    def recomposed(self) -> None:
        """Fill in what compose leaves to on_mount (after a change of language)."""
        on_mount = getattr(self, "on_mount", None)
        if on_mount is not None:
            on_mount()
        self.states_changed()

    def states_changed(self) -> None:
        """The app changed a page's state or the answers' problems: redraw the sidebar and
        the problems list (every problem of the answers, on every page, until fixed)."""
        pages = self.app.problem_pages()
        self.show_title()
        try:
            self.query_one(Sidebar).show(self.app.states, set(pages))
            box = self.query_one("#problems", Static)
        except Exception:               # not composed yet
            return
        lines = [f"! {title(page)}: {p}" for page, ps in pages.items() for p in ps]
        box.update("\n".join(lines))
        box.set_class(bool(lines), "-shown")


class SectionScreen(WizardScreen):
    """One procedure section: why it exists, its inputs, and the preview of its actions."""

    EXPLANATION: ClassVar[str] = ""
    FIELDS: ClassVar[tuple[Field, ...]] = ()
    PREVIEW: ClassVar[bool] = True
    BINDINGS = [
        Binding("f5", "preview", N_("Preview")),
        Binding("ctrl+t", "toggle_skip", N_("Skip section")),
    ]

    def __init__(self, data: dict | None = None) -> None:
        super().__init__()
        self.data: dict = dict(data or {})
        self.preview = None             # () -> what the preview shows, in the current language

    @property
    def section(self) -> str:
        return self.PAGE

    def value(self, f: Field) -> object:
        v = self.data.get(f.key)
        return f.default(self.section) if v is None else v

    # -- layout ----------------------------------------------------------------------------
    def compose_main(self) -> ComposeResult:
        with VerticalScroll(id="form"):
            yield Static(title(self.PAGE), classes="page-title")
            if self.EXPLANATION:
                yield Static(_(self.EXPLANATION), classes="explanation", markup=False)
            yield from self.compose_fields()
            yield from self.compose_extra()
            if self.PREVIEW:
                yield Label(_("Preview (F5)"), classes="preview-title")
                if importlib.util.find_spec(f"wizard.steps.{self.section}") is None:
                    yield Static(_("The engine has no step for this section yet: its preview and "
                                   "run will come with it."), classes="hint", markup=False)
                yield PlanView(id="preview")

    def compose_fields(self) -> ComposeResult:
        for f in self.FIELDS:
            yield from self.compose_field(f, self.value(f))

    def compose_field(self, f: Field, value: object) -> ComposeResult:
        with Vertical(classes="field", id=f"field-{f.id}"):
            with Horizontal(classes="field-row"):
                yield Label(_(f.label), classes="field-label")
                if f.kind == "bool":
                    yield CheckBox("", bool(value), id=f.id, compact=True, classes="field-check")
                elif f.kind == "choice":
                    choices = f.options(self.section)
                    yield Select([(c, c) for c in choices], value=value if value in choices else choices[0],
                                 allow_blank=False, id=f.id, compact=True)
                elif f.kind == "secret":
                    yield Input(password=True, id=f.id, placeholder=self.secret_placeholder(f), compact=True)
                else:
                    yield Input("" if value is None else str(value), id=f.id,
                                placeholder=self.placeholder(f), compact=True)
            text = hint(self.section, f)
            if text:
                yield Static(text, classes="field-help", markup=False)
            yield Static("", classes="field-error", id=f"{f.id}-error", markup=False)

    def compose_extra(self) -> ComposeResult:
        """Section-specific widgets after the fields."""
        yield from ()

    @staticmethod
    def placeholder(f: Field) -> str:
        """An empty input's hint: what empty means, or an example marked as one."""
        if f.placeholder:
            return _(f.placeholder)
        if f.example:
            return (_("e.g. {example}") if f.optional else _("required, e.g. {example}")).format(example=f.example)
        return "" if f.optional else _("required")

    def secret_placeholder(self, f: Field) -> str:
        ref = self.data.get(f.key)
        if ref:
            return _("{ref} (type to replace)").format(ref=ref)
        return _("typed once, kept as keyring:{key}").format(key=f.secret_key)

    def on_mount(self) -> None:
        first = next(iter(self.query("#form Input, #form Select, #form .field-check")), None)
        if first is not None:               # keyboard first: type at once, ctrl+n when done
            first.focus()
        self.states_changed()

    # -- validation: the whole answers as typed, the same checks as the CLI's ----------------
    @on(Input.Changed)
    @on(Select.Changed)
    @on(CheckBox.Changed, ".field-check")     # a field's, not a checklist tick (AckList)
    def input_changed(self) -> None:
        self.app.store(self.PAGE, self.collect(store_secrets=False))     # revalidates
        self.edited()

    def edited(self) -> None:
        """An input changed: an earlier preview no longer shows what would run."""
        if self.app.states.get(self.PAGE) == PREVIEWED:
            self.app.set_state(self.PAGE, TODO)

    def states_changed(self) -> None:
        super().states_changed()
        key = self.answers_key
        mine = {p.key: p.text for p in self.app.issues}
        for f in self.FIELDS:
            try:
                err = self.query_one(f"#{f.id}-error", Static)
            except Exception:          # not composed yet
                return
            text = mine.get(f"{key}.{f.key}", "")
            err.update(text)
            err.set_class(bool(text), "-shown")

    @property
    def answers_key(self) -> str:
        from .app import SLICES
        return SLICES.get(self.PAGE, self.PAGE)

    # -- answers ---------------------------------------------------------------------------
    def collect(self, store_secrets: bool = True) -> dict:
        """The page's slice as typed: an invalid value is kept (and reported), never dropped
        in favour of an older one."""
        from .fields import subschema, typed
        out = dict(self.data)
        for f in self.FIELDS:
            if f.kind == "bool":
                out[f.key] = self.query_one(f"#{f.id}", CheckBox).value
            elif f.kind == "choice":
                out[f.key] = self.query_one(f"#{f.id}", Select).value
            elif f.kind == "secret":
                w = self.query_one(f"#{f.id}", Input)
                if w.value and store_secrets:
                    ref = out.get(f.key) or f"keyring:{f.secret_key}"
                    out[f.key] = self.app.store_secret(ref.split(":", 1)[1], w.value)
                    w.value = ""
                    w.placeholder = _("{ref} (type to replace)").format(ref=out[f.key])
            else:
                text = self.query_one(f"#{f.id}", Input).value.strip()
                out[f.key] = typed(text, subschema(self.answers_key, f.key)) if text else None
        self.data = out
        return out

    # -- preview ---------------------------------------------------------------------------
    def show_preview(self, render) -> None:
        """Show render() in the preview (again after a change of language)."""
        self.preview = render
        self.query_one("#preview", PlanView).show(render())

    def recomposed(self) -> None:
        super().recomposed()
        if self.PREVIEW and self.preview is not None:
            self.show_preview(self.preview)

    def action_preview(self) -> None:
        if not self.PREVIEW:
            self.notify(_("This page has no preview: its values are used by the sections' previews."))
            return
        self.app.store(self.PAGE, self.collect())
        if self.app.refuse_with_problems(_("Preview")):
            return
        self.show_preview(lambda: _("Building the preview…"))
        self.build_preview(self.app.snapshot(), self.app.source)

    @work(thread=True, exclusive=True, exit_on_error=False, group="preview")
    def build_preview(self, data: dict, source: str) -> None:
        try:
            session = self.app.session
            session.use(self.app.answers_for(data, source))
            only = set(SECTIONS[:SECTIONS.index(self.section) + 1])
            plan = session.plan(only=only)
        except Exception as e:          # shown to the engineer; the log keeps the traceback
            log.info("preview of %s failed", self.section, exc_info=True)
            self.post_message(WorkFailed("preview", describe_error(e)))
            return
        self.post_message(PlanBuilt(plan, [self.section]))

    @on(PlanBuilt)
    def plan_built(self, event: PlanBuilt) -> None:
        from .widgets.planview import render_section
        sp = event.plan.section(self.section)
        if sp is None:
            skipped = self.section in self.app.skipped()
            self.show_preview(lambda: _("Nothing to do here: this section is skipped (ctrl+t to take it back).")
                              if skipped else
                              _("Nothing to do here: no host of the inventory has the roles this section runs on."))
        else:
            self.show_preview(lambda: render_section(sp))
        self.app.set_state(self.PAGE, SKIPPED if self.section in self.app.skipped() else PREVIEWED)

    @on(WorkFailed)
    def work_failed(self, event: WorkFailed) -> None:
        if self.PREVIEW:
            self.show_preview(lambda: _("The preview could not be built:\n{error}").format(error=event.text))
        self.notify(event.text, title=_("The preview failed"), severity="error", timeout=10)

    def action_toggle_skip(self) -> None:
        if self.section not in SECTIONS:
            self.notify(_("Only procedure sections can be skipped."))
            return
        self.app.toggle_skip(self.section)
