"""Section 2: copy ClientMessenger from the shared repository and give it to jtel.

The page's `cp -R SRC/ DEST` nests the folder when DEST exists (DEST/ClientMessenger on a
re-run). We copy only when DEST is absent, and copy SRC's contents (`SRC/.`) so that even a
racing re-run cannot nest.
"""
from __future__ import annotations

import shlex

from ..errors import PlanError
from ..plan import Action, Command, NoOp
from ..i18n import _, N_

NAME = "clientmessenger"
TITLE = N_("2. ClientMessenger")
ROLES = ("CHAT",)


def plan(ctx, host) -> list[Action]:
    cfg = ctx.section(NAME)
    src, dest = cfg["source"].rstrip("/"), cfg["target"].rstrip("/")
    owner = f"{cfg['owner']}:{cfg['group']}"
    t = ctx.transport(host)
    q = shlex.quote
    actions: list[Action] = []
    copy = Command(_("Copy ClientMessenger to {dest}").format(dest=dest), f"mkdir -p {q(dest)} && cp -R {q(src)}/. {q(dest)}/")
    exists = t.stat(dest).exists
    # an apply cut off in the middle of the copy leaves a partial folder: copy again (it
    # never nests, and overwrites only what this copy wrote)
    again = exists and copy.id in ctx.interrupted_actions(host)
    if not exists or again:
        if not t.stat(src).is_dir:
            raise PlanError(_("host {host}: clientmessenger.source {src} is not a folder there; "
                              "is /home/jtel/shared mounted?").format(host=host.name, src=src))
        ctx.overlay(host).mirrors.append((dest, src))
        if again:
            copy = Command(_("Copy ClientMessenger to {dest} again: the interrupted apply did not "
                             "finish its copy").format(dest=dest), copy.command)
        actions.append(copy)
        actions.append(Command(_("Give {dest} to {owner}").format(dest=dest, owner=owner), f"chown -R {q(owner)} {q(dest)}"))
        return actions
    actions.append(NoOp(_("{dest} already exists: not copied again (updates go through updatesc.sh)").format(dest=dest)))
    nested = f"{dest}/{src.rsplit('/', 1)[-1]}"
    if t.stat(nested).is_dir:
        ctx.notes.append(_("{host}: {nested} looks like a nested copy from an earlier "
                           "`cp -R` re-run; the wizard leaves it alone, remove it by hand").format(
                               host=host.name, nested=nested))
    strangers = t.run(strangers_command(cfg), sudo=True, timeout=120)
    if strangers.exit_code != 0:
        raise PlanError(_("host {host}: cannot check owners under {dest}: {output}").format(
            host=host.name, dest=dest, output=strangers.tail(3)))
    if strangers.stdout.strip():
        actions.append(Command(_("Give {dest} to {owner} (found {found} owned by another user)").format(
            dest=dest, owner=owner, found=strangers.stdout.strip()),
                               f"chown -R {q(owner)} {q(dest)}"))
    else:
        actions.append(NoOp(_("everything under {dest} already belongs to {owner}").format(dest=dest, owner=owner)))
    return actions


def strangers_command(cfg: dict) -> str:
    """The first path under the target not owned by owner:group (read-only)."""
    q = shlex.quote
    dest = cfg["target"].rstrip("/")
    return (f"find {q(dest)} \\( ! -user {q(cfg['owner'])} -o ! -group {q(cfg['group'])} \\) "
            "-print -quit")
