"""Training mode: a simulated CentOS 7 host and a simulated TynTec, no server needed.

Public API (what a session uses):
- `SimTransport(spec)`: the Transport for one inventory HostSpec, on the shared host;
- `SimHost.shared()` / `.reset()`: the one simulated host of this process, persisted per
  state folder (`<state dir>/training-host.json`), and its way back to the start;
- `http_client()`: the callable the runner sends HttpRequest objects with (req -> (status,
  body)); `planning_http()`: what planning asks TynTec (GET application/default).
Both TynTec sides keep their webhook state with the host's, so reset clears it too.

Nothing here imports wizard.journal (the session clears training journals on reset).
"""
from .host import BANNER, SimHost, SimTransport
from .tyntec import http_client, planning_http

__all__ = ["BANNER", "SimHost", "SimTransport", "http_client", "planning_http"]
