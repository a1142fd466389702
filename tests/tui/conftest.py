"""Fixtures for the TUI tests: an isolated tool state, a fixed clock, a pilot helper.

Every test gets its own state, log and keyring (prompt backend: in memory), and
runs in its own working folder (training reports are written there).
"""
from __future__ import annotations

import asyncio
import inspect
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SIZE = (110, 36)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """Run `async def` tests in a fresh event loop (no asyncio plugin needed)."""
    if inspect.iscoroutinefunction(pyfuncitem.obj):
        args = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
        asyncio.run(pyfuncitem.obj(**args))
        return True
    return None


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Tool dirs, HOME and the working folder in tmp; the keyring and masking reset after."""
    for var, sub in (("CHATWIZARD_STATE_DIR", "state"), ("CHATWIZARD_LOG_DIR", "log"), ("HOME", "home")):
        (tmp_path / sub).mkdir()
        monkeypatch.setenv(var, str(tmp_path / sub))
    monkeypatch.delenv("CHATWIZARD_KEYRING", raising=False)
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.chdir(tmp_path)
    from wizard import masking, secrets
    before = masking.known()
    yield tmp_path
    secrets.reset_backend()
    masking.clear()
    for s in before:
        masking.register(s)
    try:
        from wizard.training import SimHost
        SimHost.forget_shared()
    except (ImportError, AttributeError):
        pass


def make_app(**kw):
    """A WizardApp with a fixed clock and an in-memory keyring."""
    from screens.app import WizardApp
    kw.setdefault("clock", lambda: 0.0)
    kw.setdefault("keyring_mode", "prompt")
    return WizardApp(**kw)


async def wait_for(pilot, condition, timeout: float = 60.0, what: str = "condition"):
    """Let the app run until condition() holds (workers run in threads)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not condition():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)
    await pilot.pause()


async def goto(pilot, page: str):
    """Show `page` the way the sidebar does (closing a problems dialog first, as a person would)."""
    from screens.dialogs import ChoiceDialog
    app = pilot.app
    await pilot.pause()
    while isinstance(app.screen, ChoiceDialog):
        app.screen.dismiss(None)
        await pilot.pause()
    app.goto(page)
    await wait_for(pilot, lambda: getattr(app.screen, "PAGE", None) == page, what=f"page {page}")
    await pilot.pause()
