"""Section 6: open the chat ports."""
from __future__ import annotations

from wizard.i18n import N_

from .base import SectionScreen
from .fields import Field


class FirewallScreen(SectionScreen):
    PAGE = "firewall"
    EXPLANATION = N_(
        "The chat server needs 5701-5801/tcp (Hazelcast) and 3000/tcp (the load balancer talks to "
        "it there); each load balancer needs 3000/tcp (http) or 3003/tcp (https). CentOS 7 uses "
        "firewall-cmd, CentOS 6 iptables; rules that exist already are not added twice.")
    FIELDS = (Field("enabled", N_("Open the ports"), "bool"),)


SCREEN = FirewallScreen
