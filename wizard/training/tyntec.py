"""The simulated TynTec for training mode: its default application's webhooks, kept with the
training host's state (so they persist between runs and `SimHost.reset()` clears them).

`planning_http()` answers planning's GET (Context.http); `http_client()` is the runner's
callable: a PATCH of /applications/default sets the webhooks it sends, as TynTec does, so
a replay finds them and plans nothing. Nothing leaves this machine; no key is asked for.
"""
from __future__ import annotations

import copy
import json
from typing import Callable
from urllib.parse import urlsplit

from .host import SimHost

APPLICATION_PATH = "/applications/default"


def _apps(host: SimHost) -> dict:
    return host.state.setdefault("tyntec", {})


def _key(url: str) -> str:
    """The API base an application URL belongs to (one simulated application per base)."""
    u = urlsplit(url)
    path = u.path[:-len(APPLICATION_PATH)] if u.path.endswith(APPLICATION_PATH) else u.path
    return f"{u.scheme}://{u.netloc}{path.rstrip('/')}"


class SimTyntec:
    """Context.http for training: .get_default(api_base, key_ref) -> the application."""

    def __init__(self, host: SimHost | None = None):
        self.host = host

    def _host(self) -> SimHost:
        return self.host if self.host is not None else SimHost.shared()

    def get_default(self, base: str, key_ref: str) -> dict:
        host = self._host()
        with host.lock:
            app = _apps(host).get(_key(base.rstrip("/") + APPLICATION_PATH))
            return copy.deepcopy(app) if app else {"webhooks": []}

    def send(self, req) -> tuple[int, str]:
        """The runner's http callable: (status, body) as TynTec answers."""
        if req.method == "GET":
            return 200, json.dumps(self.get_default(_key(req.url), ""))
        if req.method != "PATCH" or not urlsplit(req.url).path.endswith(APPLICATION_PATH):
            return 404, f"training: {req.method} {req.url} is not simulated"
        try:
            body = json.loads(req.body or "{}")
        except ValueError:
            return 400, "HTTP 400 Data given was not parsable (training)"
        host = self._host()
        with host.lock:
            app = _apps(host).setdefault(_key(req.url), {"webhooks": []})
            if isinstance(body, dict) and isinstance(body.get("webhooks"), list):
                app["webhooks"] = body["webhooks"]
            host.changed()
            host.save_if_changed()
        return 204, ""


def planning_http(host: SimHost | None = None) -> SimTyntec:
    return SimTyntec(host)


def http_client(host: SimHost | None = None) -> Callable:
    """req -> (status, body), like wizard.tyntec.make_http() but answered here."""
    return SimTyntec(host).send
