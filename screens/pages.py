"""The wizard's pages in the procedure's order, with the state each section is in.

Kept free of textual and of the engine's heavy parts so the sidebar can be drawn
before anything else is imported.
"""
from __future__ import annotations

from wizard.i18n import N_, _, pgettext
from wizard.steps import ORDER as SECTIONS

# page name -> title (English; shown translated: title()); section titles follow
# wizard/steps/<name>.py TITLE
TITLES: dict[str, str] = {
    "hosts": N_("Hosts"),
    "portal": N_("Portal"),
    "detection": N_("Detection"),
    "java": N_("1. Java 8"),
    "clientmessenger": N_("2. ClientMessenger"),
    "hazelcast": N_("3. Hazelcast cluster"),
    "daemon": N_("4. ClientMessenger as a daemon"),
    "update_script": N_("5. Update script"),
    "firewall": N_("6. Firewall"),
    "load_balancer": N_("7. Load balancer (haproxy)"),
    "portal_settings": N_("8. Chat parameters (portal UI)"),
    "agents": N_("9. Agents (portal UI)"),
    "whatsapp": N_("10. WhatsApp (TynTec)"),
    "run": N_("Run"),
    "report": N_("Install report"),
}

PAGES: list[str] = ["hosts", "portal", "detection", *SECTIONS, "run", "report"]

# the states a page can be in; the sidebar shows each with its mark. PROBLEM is not a
# state of its own: a page whose answers have a problem shows it over its state.
TODO, PREVIEWED, RUNNING, DONE, SKIPPED, FAILED = "to do", "previewed", "running", "done", "skipped", "failed"
STOPPED, PROBLEM = "stopped", "fix input"
MARKS = {TODO: "○", PREVIEWED: "◐", RUNNING: "▶", DONE: "●", SKIPPED: "–", FAILED: "✗", STOPPED: "■",
         PROBLEM: "!"}


def title(page: str) -> str:
    """A page's title in the current language."""
    return _(TITLES[page]) if page in TITLES else page


def state_text(state: str) -> str:
    """A page state as the sidebar shows it, in the current language (the states
    themselves are keys, never translated)."""
    texts = {TODO: pgettext("page state", "to do"), PREVIEWED: pgettext("page state", "previewed"),
             RUNNING: pgettext("page state", "running"), DONE: pgettext("page state", "done"),
             SKIPPED: pgettext("page state", "skipped"), FAILED: pgettext("page state", "failed"),
             STOPPED: pgettext("page state", "stopped"), PROBLEM: pgettext("page state", "fix input")}
    return texts.get(state, state)


# the page where the answers' top-level key is edited (sections: their own page)
PROBLEM_PAGE = {"inventory": "hosts", "version": "hosts", "portal": "portal", "sections": "run", "": "hosts"}


def next_page(name: str, step: int = 1) -> str:
    """The page `step` places after (or before) `name`, clamped to the ends."""
    i = PAGES.index(name) + step
    return PAGES[max(0, min(i, len(PAGES) - 1))]
