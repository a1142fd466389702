"""What a deploy written by `chatwizard export pyinfra` calls while pyinfra runs it.

The exported deploy.py is the previewed plan, one block per action; the blocks call these
helpers so that each action stays one readable line there. Each helper decides at
pyinfra's prepare time (facts) whether its action is still to do, the way the wizard's
planner decided when the plan was made, and adds its operations only then: a second run
finds everything done and adds nothing.

- ``check(shell)``: the planner's read-only check as a fact (exit status 0 → True).
- ``install_file(...)``: one FileChange: the planned file is checked against what the
  host holds (the planned old content, or already the new one; anything else stops the
  deploy: the site changed since the export), uploaded beside the target as a candidate
  with its owner and mode, validated (``haproxy -c``, ``bash -n``), the old file backed up
  under /var/lib/chatwizard/backups/<UTC time>/ and the candidate renamed over it.
- ``secret(ref)`` and ``render(template, secrets)``: secrets come from the environment
  (CHATWIZARD_SECRET_<KEY>, e.g. CHATWIZARD_SECRET_DB_ROOT) or the wizard's keyring at
  deploy time; the written files hold only placeholders.
- ``tyntec_webhooks(...)``: the TynTec PATCH from the control machine, only while the
  webhooks do not point at the portal yet.

Imports pyinfra: only the deploy uses this module (the `pyinfra` extra).
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import posixpath
import re
import shlex

from pyinfra import host
from pyinfra.api import FactBase
from pyinfra.api.exceptions import DeployError
from pyinfra.facts.files import Sha256File
from pyinfra.operations import files, python, server

from .export_pyinfra import env_name

BACKUP_ROOT = "/var/lib/chatwizard/backups"
PLACEHOLDER = re.compile(r"@@chatwizard-secret:([A-Za-z0-9_./@:-]+):(raw|percent)@@")


class Check(FactBase):
    """True when a shell check exits 0 (the fact itself always succeeds)."""

    def command(self, shell: str) -> str:
        return f"if ( {shell} ) >/dev/null 2>&1; then echo yes; else echo no; fi"

    def process(self, output):
        return bool(output) and output[-1].strip() == "yes"


def check(shell: str) -> bool:
    return host.get_fact(Check, shell=shell)


# ---------------------------------------------------------------- secrets

_cache: dict[str, str] = {}


def secret(ref: str) -> str:
    """The secret for a keyring reference: $CHATWIZARD_SECRET_<KEY>, else the wizard's
    keyring (CHATWIZARD_KEYRING and friends choose the backend, as for chatwizard)."""
    if ref not in _cache:
        value = os.environ.get(env_name(ref))
        if not value:
            from . import secrets
            secrets.configure_backend(None)
            value = secrets.get(ref)
        _cache[ref] = value
    return _cache[ref]


def render(template: bytes) -> bytes:
    """The file's bytes with every placeholder replaced by its secret, in the form the
    wizard wrote it (raw, or percent-encoded for a JDBC URL)."""
    from .initscript import percent_encode

    def sub(m: re.Match) -> str:
        value = secret(m.group(1))
        return value if m.group(2) == "raw" else percent_encode(value)
    return PLACEHOLDER.sub(sub, template.decode("utf-8")).encode("utf-8")


# ---------------------------------------------------------------- files

_chains: dict[tuple[str, str], int] = {}


def _start_of_chain(path: str, shas: list[str | None], base_unknown: bool) -> int:
    """Index of the first change still to do in this host's chain of changes of `path`
    (shas: content before the first, after the first, after the second, …). Stops the
    deploy when the host holds something the plan never saw."""
    key = (host.name, path)
    if key in _chains:
        return _chains[key]
    current = host.get_fact(Sha256File, path=path)
    if current == shas[-1]:
        start = len(shas) - 1                  # already as planned: nothing to do
    elif current in shas[:-1]:
        start = shas.index(current)
    elif base_unknown:
        start = 0                              # an earlier step of the plan writes it first
    else:
        raise DeployError(f"{host.name}: {path} changed since the export (sha256 {current}, the "
                          "plan expected one of " + ", ".join(str(s) for s in shas) + "); "
                          "run `chatwizard export pyinfra` again to see a fresh plan")
    _chains[key] = start
    return start


def install_file(name: str, *, path: str, src: str, index: int, shas: list[str | None],
                 mode: int, user: str | None, group: str | None, validate: str | None = None,
                 base_unknown: bool = False, secrets: bool = False):
    """Change number `index` of `path` on this host (see the module doc); returns the
    operation that replaces the file (for `_if` of its follow-ups) or None when done."""
    with open(os.path.join(_deploy_dir(), src), "rb") as f:
        data = f.read()
    if secrets:
        data = render(data)
        shas = [*shas[:index + 1], hashlib.sha256(data).hexdigest(), *shas[index + 2:]]
    if _start_of_chain(path, shas, base_unknown) > index:
        return None
    folder, base = posixpath.split(path)
    candidate = f"{folder}/.{base}.chatwizard-candidate"
    files.put(name=f"{name}: candidate {candidate}", src=io.BytesIO(data), dest=candidate,
              user=user, group=group, mode=f"{mode:o}", create_remote_dir=False, force=True)
    q = shlex.quote
    lines = ["set -e", f"dst={q(path)}", f"tmp={q(candidate)}"]
    if validate:
        lines.append(f"if ! {validate.format(path=q(candidate))}; then rm -f -- \"$tmp\"; "
                     f"echo {q(f'{path}: the candidate was rejected; the live file is unchanged')} >&2; "
                     "exit 1; fi")
    if user is None:
        lines.append('if [ -e "$dst" ]; then chown --reference="$dst" -- "$tmp"; fi')
    lines += [
        'if [ -e "$dst" ]; then',
        f"  b={q(BACKUP_ROOT)}/$(date -u +%Y%m%dT%H%M%SZ); n=0; s=$b",
        '  while [ -e "$b$dst" ]; do n=$((n+1)); b=$s.$n; done',
        '  mkdir -p -- "$(dirname -- "$b$dst")"',
        '  cp -p -- "$dst" "$b$dst"',
        "fi",
        'mv -f -T -- "$tmp" "$dst"',
    ]
    return server.shell(name=name, commands=["\n".join(lines)])


def _deploy_dir() -> str:
    from pyinfra import state
    return state.cwd or os.getcwd()


# ---------------------------------------------------------------- TynTec

def tyntec_webhooks(name: str, *, url: str, body: str, key_ref: str) -> None:
    """The PATCH of section 10, from the control machine, only while TynTec's webhooks
    differ from `body` (asked once, at prepare time, like the planner asked)."""
    from . import tyntec
    base = url[: -len(tyntec.APPLICATION_PATH)] if url.endswith(tyntec.APPLICATION_PATH) else url
    want = json.loads(body)
    if not tyntec.webhook_differences(tyntec.get_default(base, secret(key_ref)), want):
        return

    def patch():
        status, text = tyntec.patch_webhooks(base, secret(key_ref), want)
        if status != 204:
            raise DeployError(f"PATCH {url}: HTTP {status}: {text}")
    python.call(name=name, function=patch)
