"""Section 1: Java 8 on the chat server."""
from __future__ import annotations

from wizard.i18n import N_

from .base import SectionScreen
from .fields import Field


class JavaScreen(SectionScreen):
    PAGE = "java"
    EXPLANATION = N_(
        "ClientMessenger is a Java 8 program. The vendor installs the Oracle JDK 8u202 RPM with "
        "yum straight from its download site; sites without internet copy the RPM to the chat "
        "server first and install it from that path. When a Java 8 is already installed "
        "(rpm -q, java -version) the section does nothing.")
    FIELDS = (
        Field("source", N_("Install from"), "choice", choices=("url", "rpm"),
              help=N_("url: yum downloads it; rpm: a file already on the chat server")),
        Field("url", N_("RPM URL")),
        Field("rpm_path", N_("RPM path on the chat server"), optional=True,
              example="/root/jdk-8u202-linux-x64.rpm"))


SCREEN = JavaScreen
