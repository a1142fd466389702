"""Section 7: haproxy on the load balancers."""
from __future__ import annotations

from wizard.i18n import N_

from .base import SectionScreen
from .fields import Field


class LoadBalancerScreen(SectionScreen):
    PAGE = "load_balancer"
    EXPLANATION = N_(
        "Each load balancer gets a chat frontend (ws on :3000, or wss on :3003 with the portal's "
        "certificate) and a backend with one server line per chat server, balanced leastconn. "
        "The rest of haproxy.cfg stays as it is. The candidate is checked with haproxy -c "
        "before it replaces the live file; a rejected config is never reloaded.")
    FIELDS = (
        Field("config", N_("haproxy.cfg")),
        Field("cert", N_("Certificate (https)")))


SCREEN = LoadBalancerScreen
