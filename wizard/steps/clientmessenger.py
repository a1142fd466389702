"""Section 2: copy ClientMessenger from the shared repository and give it to jtel.

The page's `cp -R SRC/ DEST` nests the folder when DEST exists (DEST/ClientMessenger on a
re-run). We copy only when DEST is absent, and copy SRC's contents (`SRC/.`) so that even a
racing re-run cannot nest.
"""
from __future__ import annotations

import shlex

from ..errors import PlanError
from ..plan import Action, Command, NoOp

NAME = "clientmessenger"
TITLE = "2. ClientMessenger"
ROLES = ("CHAT",)


def plan(ctx, host) -> list[Action]:
    cfg = ctx.section(NAME)
    src, dest = cfg["source"].rstrip("/"), cfg["target"].rstrip("/")
    owner = f"{cfg['owner']}:{cfg['group']}"
    t = ctx.transport(host)
    q = shlex.quote
    actions: list[Action] = []
    copy = Command(f"Copy ClientMessenger to {dest}", f"mkdir -p {q(dest)} && cp -R {q(src)}/. {q(dest)}/")
    exists = t.stat(dest).exists
    # an apply cut off in the middle of the copy leaves a partial folder: copy again (it
    # never nests, and overwrites only what this copy wrote)
    again = exists and copy.id in ctx.interrupted_actions(host)
    if not exists or again:
        if not t.stat(src).is_dir:
            raise PlanError(f"host {host.name}: clientmessenger.source {src} is not a folder there; "
                            "is /home/jtel/shared mounted?")
        ctx.overlay(host).mirrors.append((dest, src))
        if again:
            copy = Command(f"Copy ClientMessenger to {dest} again: the interrupted apply did not "
                           "finish its copy", copy.command)
        actions.append(copy)
        actions.append(Command(f"Give {dest} to {owner}", f"chown -R {q(owner)} {q(dest)}"))
        return actions
    actions.append(NoOp(f"{dest} already exists: not copied again (updates go through updatesc.sh)"))
    nested = f"{dest}/{src.rsplit('/', 1)[-1]}"
    if t.stat(nested).is_dir:
        ctx.notes.append(f"{host.name}: {nested} looks like a nested copy from an earlier "
                         "`cp -R` re-run; the wizard leaves it alone, remove it by hand")
    strangers = t.run(strangers_command(cfg), sudo=True, timeout=120)
    if strangers.exit_code != 0:
        raise PlanError(f"host {host.name}: cannot check owners under {dest}: {strangers.tail(3)}")
    if strangers.stdout.strip():
        actions.append(Command(f"Give {dest} to {owner} (found {strangers.stdout.strip()} owned by another user)",
                               f"chown -R {q(owner)} {q(dest)}"))
    else:
        actions.append(NoOp(f"everything under {dest} already belongs to {owner}"))
    return actions


def strangers_command(cfg: dict) -> str:
    """The first path under the target not owned by owner:group (read-only)."""
    q = shlex.quote
    dest = cfg["target"].rstrip("/")
    return (f"find {q(dest)} \\( ! -user {q(cfg['owner'])} -o ! -group {q(cfg['group'])} \\) "
            "-print -quit")
