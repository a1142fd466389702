"""One log file per run under the platform's log folder, every line masked and made safe for
a terminal (wizard.termsafe: someone will `cat` or `tail -f` it)."""
from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from . import masking
from .termsafe import safe


class MaskFilter(logging.Filter):
    """Replace secrets in the formatted message before any handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = safe(masking.mask(record.getMessage()))
        record.msg, record.args = msg, None
        if record.exc_info:
            # tracebacks can quote arguments: render them now, masked
            text = logging.Formatter().formatException(record.exc_info)
            record.msg = f"{msg}\n{safe(masking.mask(text))}"
            record.exc_info, record.exc_text = None, None
        return True


def log_dir() -> Path:
    env = os.environ.get("CHATWIZARD_LOG_DIR")
    if env:
        return Path(env)
    from platformdirs import user_log_dir
    return Path(user_log_dir("chatwizard"))


def start_run_log(kind: str) -> Path:
    """Attach a masked file handler for this run; returns the log file's path."""
    d = log_dir()
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{kind}.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    # paramiko logs every channel at DEBUG; INFO keeps kex/auth lines only
    logging.getLogger("paramiko").setLevel(logging.WARNING)
    os.chmod(path, 0o600)
    return path
