"""The wizard's pages in the procedure's order, with the state each section is in.

Kept free of textual and of the engine's heavy parts so the sidebar can be drawn
before anything else is imported.
"""
from __future__ import annotations

from wizard.steps import ORDER as SECTIONS

# page name -> sidebar title; section titles follow wizard/steps/<name>.py TITLE
TITLES: dict[str, str] = {
    "hosts": "Hosts",
    "portal": "Portal",
    "detection": "Detection",
    "java": "1. Java 8",
    "clientmessenger": "2. ClientMessenger",
    "hazelcast": "3. Hazelcast cluster",
    "daemon": "4. ClientMessenger as a daemon",
    "update_script": "5. Update script",
    "firewall": "6. Firewall",
    "load_balancer": "7. Load balancer (haproxy)",
    "portal_settings": "8. Chat parameters (portal UI)",
    "agents": "9. Agents (portal UI)",
    "whatsapp": "10. WhatsApp (TynTec)",
    "run": "Run",
    "report": "Install report",
}

PAGES: list[str] = ["hosts", "portal", "detection", *SECTIONS, "run", "report"]

# the states a page can be in; the sidebar shows each with its mark. PROBLEM is not a
# state of its own: a page whose answers have a problem shows it over its state.
TODO, PREVIEWED, RUNNING, DONE, SKIPPED, FAILED = "to do", "previewed", "running", "done", "skipped", "failed"
STOPPED, PROBLEM = "stopped", "fix input"
MARKS = {TODO: "○", PREVIEWED: "◐", RUNNING: "▶", DONE: "●", SKIPPED: "–", FAILED: "✗", STOPPED: "■",
         PROBLEM: "!"}

# the page where the answers' top-level key is edited (sections: their own page)
PROBLEM_PAGE = {"inventory": "hosts", "version": "hosts", "portal": "portal", "sections": "run", "": "hosts"}


def next_page(name: str, step: int = 1) -> str:
    """The page `step` places after (or before) `name`, clamped to the ends."""
    i = PAGES.index(name) + step
    return PAGES[max(0, min(i, len(PAGES) - 1))]
