"""Training mode: a simulated CentOS host and a simulated TynTec, no server needed.

Public API (what a session uses):
- `SimTransport(spec)`: the Transport for one inventory HostSpec, on the shared host;
- `SimHost.shared()` / `.reset()`: the one simulated host of this process, persisted per
  scenario (`<state dir>/training/<scenario>/host.json`), and its way back to the start;
- `connect(spec, accept=, ask=)`: a SimTransport, asking for the host key where the
  scenario wants it (unknown-host-key);
- `scenarios`: the training scenarios (centos7, centos6, windows-repo, …), `activate(name)`;
- `http_client()`: the callable the runner sends HttpRequest objects with (req -> (status,
  body)); `planning_http()`: what planning asks TynTec (GET application/default).
Both TynTec sides keep their webhook state with the host's, so reset clears it too.

Nothing here imports wizard.journal (the session clears training journals on reset).
"""
from . import scenarios
from .host import BANNER, SimHost, SimTransport, connect
from .tyntec import http_client, planning_http

__all__ = ["BANNER", "SimHost", "SimTransport", "connect", "http_client", "planning_http", "scenarios"]
