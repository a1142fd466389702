"""Command line: `chatwizard plan|apply ANSWERS`, `chatwizard secret …`, and the TUI.

`plan` connects read-only, detects and prints the full preview. `apply` prints
the same preview, asks once (or not with --yes) and runs exactly that plan with
live output. Exit codes are in wizard.errors and README.md.
"""
from __future__ import annotations

import argparse
import logging
import re
import sys
from typing import Sequence

from . import errors, i18n, masking
from .errors import WizardError
from .i18n import _
from .termsafe import safe
from .transport.base import TransportError

log = logging.getLogger("wizard.cli")


LANG_CHOICES = list(i18n.LANGUAGES)


def _parser() -> argparse.ArgumentParser:
    from . import argparse_texts
    argparse_texts.install()            # argparse's own words ("usage:", "options") translated
    answers_help = _("answers file (YAML)")
    lang_help = _("language of the messages: en, de or fr (default: the answers file's "
                  "ui.language, else the locale)")
    p = argparse.ArgumentParser(prog="chatwizard", description=_(
        "Command line: `chatwizard plan|apply ANSWERS`, `chatwizard secret …`, and the TUI."))
    p.add_argument("--training", action="store_true",
                   help=_("use the built-in simulated CentOS 7 host (no network, no root)"))
    scenario_help = _("training scenario (implies --training); an unknown name lists them")
    p.add_argument("--scenario", metavar="NAME", default=None, help=scenario_help)
    p.add_argument("--answers", metavar="FILE",
                   help=_("open the TUI prefilled from this answers file"))
    p.add_argument("--keyring", choices=["auto", "system", "file", "prompt"], default=None,
                   help=_("where secrets are kept (default: auto; see README 'Secrets')"))
    p.add_argument("--lang", choices=LANG_CHOICES, default=None, help=lang_help)
    sub = p.add_subparsers(dest="command")
    for name, text in (("plan", _("connect read-only, detect and print the full preview")),
                       ("apply", _("print the preview, ask once, then run it"))):
        s = sub.add_parser(name, help=text, description=text)
        s.add_argument("answers", metavar="ANSWERS", help=answers_help)
        s.add_argument("--training", action="store_true", default=argparse.SUPPRESS,
                       help=_("use the simulated training host"))
        s.add_argument("--accept-host-key", action="append", default=[], metavar="SHA256:…",
                       help=_("trust an unknown host key with this fingerprint (repeatable)"))
        s.add_argument("--only", action="append", metavar="SECTION",
                       help=_("limit to these sections (answers keys, repeatable)"))
        s.add_argument("--parallel", type=int, default=4,
                       help=_("hosts run at once within a section"))
        s.add_argument("--no-colour", action="store_true", help=_("plain diff output"))
        if name == "apply":
            s.add_argument("--yes", "-y", action="store_true",
                           help=_("do not ask before running"))
            s.add_argument("--verify", action="store_true", help=_(
                "after a successful run, section 11: check that chat works end to end"))
    text = _("section 11, read-only: check that chat works end to end")
    v = sub.add_parser("verify", help=text, description=text)
    v.add_argument("answers", metavar="ANSWERS", help=answers_help)
    v.add_argument("--accept-host-key", action="append", default=[], metavar="SHA256:…",
                   help=_("trust an unknown host key with this fingerprint (repeatable)"))
    text = _("list the backups the wizard made on the hosts")
    b = sub.add_parser("backups", help=text, description=text)
    b.add_argument("answers", metavar="ANSWERS", help=answers_help)
    b.add_argument("--host", action="append", help=_("only these inventory hosts (repeatable)"))
    text = _("put files back from a backup (previewed, then run)")
    r = sub.add_parser("restore", help=text, description=text)
    r.add_argument("answers", metavar="ANSWERS", help=answers_help)
    r.add_argument("--host", required=True, help=_("inventory host the backup is on"))
    r.add_argument("--from", dest="stamp", required=True, metavar="STAMP",
                   help=_("the backup's time stamp as `chatwizard backups` lists it"))
    r.add_argument("--path", action="append",
                   help=_("only these files (repeatable; default: all)"))
    r.add_argument("--yes", "-y", action="store_true", help=_("do not ask before running"))
    for s in (b, r):
        s.add_argument("--training", action="store_true", default=argparse.SUPPRESS,
                       help=_("use the simulated training host"))
        s.add_argument("--accept-host-key", action="append", default=[], metavar="SHA256:…",
                       help=_("trust an unknown host key with this fingerprint (repeatable)"))
    r.add_argument("--parallel", type=int, default=1, help=argparse.SUPPRESS)
    r.add_argument("--no-colour", action="store_true", help=_("plain diff output"))
    text = _("write the plan as a pyinfra deploy (wizard/export_pyinfra.py)")
    x = sub.add_parser("export", help=text, description=text)
    x.add_argument("target", choices=["pyinfra"], help=_("what to write"))
    x.add_argument("answers", metavar="ANSWERS", help=answers_help)
    x.add_argument("dir", metavar="DIR",
                   help=_("new folder for inventory.py, deploy.py and the files"))
    x.add_argument("--accept-host-key", action="append", default=[], metavar="SHA256:…")
    x.add_argument("--only", action="append", metavar="SECTION",
                   help=_("limit to these sections"))
    text = _("tick off manual steps in the portal UI (sections 8-10); without ITEM: list them "
             "and where each stands")
    k = sub.add_parser("ack", help=text, description=text)
    k.add_argument("answers", metavar="ANSWERS", help=answers_help)
    k.add_argument("items", nargs="*", metavar="ITEM",
                   help=_("item id as listed (e.g. agents/max_parallel_chats, or its unique end)"))
    k.add_argument("--undo", action="store_true", help=_("untick the items (recorded too)"))
    k.add_argument("--training", action="store_true", default=argparse.SUPPRESS,
                   help=_("the ticks of training runs (kept apart from the real ones)"))
    text = _("put the simulated training host back to its starting state")
    rt = sub.add_parser("reset-training", help=text, description=text)
    for s in (sub.choices["plan"], sub.choices["apply"], rt):
        s.add_argument("--scenario", metavar="NAME", default=argparse.SUPPRESS, help=scenario_help)
    text = _("store or remove a secret in the keyring")
    sec = sub.add_parser("secret", help=text, description=text)
    sec.add_argument("action", choices=["set", "delete", "status", "check"], help=_(
        "check ANSWERS: is every secret the answers file needs in the keyring?"))
    sec.add_argument("key", nargs="?", help=_(
        "keyring key, e.g. db/root (as in keyring:db/root), or the answers file for check"))
    for s in sub.choices.values():          # every subcommand takes --lang too
        s.add_argument("--lang", choices=LANG_CHOICES, default=argparse.SUPPRESS, help=lang_help)
    return p


def _peek_lang(argv: Sequence[str]) -> str | None:
    """--lang's value before argparse runs (its --help and errors are in that language);
    a bad value is left to argparse, which refuses it with the choices."""
    found = None
    for i, a in enumerate(argv):
        if a == "--":
            break
        if a == "--lang" and i + 1 < len(argv):
            found = argv[i + 1]
        elif a.startswith("--lang="):
            found = a.split("=", 1)[1]
    return found if i18n.normalize(found) else None


def _check_scenario(args) -> None:
    """--scenario NAME implies --training; an unknown name is a UsageError listing them."""
    if getattr(args, "scenario", None) is not None:
        from .training import scenarios
        args.training = bool(scenarios.get(args.scenario))


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    i18n.start(_peek_lang(argv))        # --lang, else the locale; ui.language once loaded
    try:
        return _main(argv)
    finally:
        i18n.forget_flag()


def _main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        _check_scenario(args)
        if args.command is None:
            from screens.app import run_app            # lazy: the core runs without textual
            return run_app(answers=args.answers, training=args.training, keyring_mode=args.keyring,
                           scenario=args.scenario)
        if args.command == "reset-training":
            from .session import Session
            session = Session(training=True, scenario=getattr(args, "scenario", None))
            session.reset_training()
            print(_("The training host of scenario {name} is back to its starting state.").format(
                name=session.scenario))
            return errors.EXIT_OK
        if args.command == "secret":
            from . import secrets
            secrets.configure_backend(args.keyring)
            return secrets.secret_command([args.action] + ([args.key] if args.key else []))
        if args.command == "ack":
            return _ack(args)
        if args.command == "export":
            from .export_pyinfra import run
            return run(args)
        if args.command in ("backups", "restore"):
            return _backups(args)
        if args.command == "verify":
            return _verify(args)
        return _plan_or_apply(args)
    except WizardError as e:
        print(_("error: {message}").format(message=safe(masking.mask(str(e)))), file=sys.stderr)
        log.error("%s", e)
        return e.exit_code
    except TransportError as e:
        # a connection that broke while reading (detection, planning): nothing was changed
        print(_("error: connection failed: {reason}").format(reason=safe(masking.mask(str(e)))),
              file=sys.stderr)
        log.error("connection failed: %s", e)
        return errors.EXIT_CONNECT
    except KeyboardInterrupt:
        print("\n" + _("interrupted: nothing more will run; `apply` again resumes from the journal"),
              file=sys.stderr)
        return 130
    except Exception:                   # a bug: one line here, the traceback (masked) in the log
        log.exception("internal error")
        where = getattr(args, "log_path", None)
        print(_("internal error: please report it with the log file {path}").format(
            path=where or _("(no log file)")), file=sys.stderr)
        return errors.EXIT_INTERNAL


def _ask_host_key(err: errors.HostKeyError) -> bool:
    if not sys.stdin.isatty():
        return False
    print(f"{err}\n" + _("Trust host {host} with key fingerprint {fingerprint}? "
                         "Type yes to continue: ").format(host=err.host, fingerprint=err.fingerprint),
          end="", file=sys.stderr, flush=True)
    # i18n: the word the engineer types to trust a host key (English "yes" is always accepted)
    return sys.stdin.readline().strip().lower() in ("yes", _("yes"))


def _session(args, hosts: list[str] | None = None, *, secrets_later: bool = False):
    """Log file, answers, secrets, then connections (to `hosts` only, when given);
    secrets_later: the keyring is still being unlocked beside detection (Session.connect)."""
    from .logs import start_run_log
    from .session import Session, UsageError, check_sections

    log_path = start_run_log(args.command)
    args.log_path = log_path
    print(_("log: {path}").format(path=log_path), file=sys.stderr)
    bad = [f for f in args.accept_host_key if not re.fullmatch(r"SHA256:[A-Za-z0-9+/]{43}", f)]
    if bad:
        raise UsageError(_("--accept-host-key {value}: expected SHA256: and 43 base64 characters")
                         .format(value=bad[0]))
    if getattr(args, "only", None):
        check_sections(args.only, "--only")
    session = Session(training=args.training, keyring_mode=args.keyring, ask_host_key=_ask_host_key,
                      accept=tuple(args.accept_host_key), parallel=getattr(args, "parallel", 4),
                      scenario=getattr(args, "scenario", None) if args.training else None)
    ans = session.load(args.answers)
    log.info("%s %s (training=%s)", args.command, ans.source, args.training)
    specs = ans.hosts
    if hosts:
        unknown = sorted(set(hosts) - {h.name for h in specs})
        if unknown:
            raise WizardError(_("--host {host}: not in the inventory of {source}").format(
                host=unknown[0], source=ans.source))
        specs = [h for h in specs if h.name in hosts]
    session.connect(specs, secrets_later=secrets_later)
    return session


def _plan_or_apply(args) -> int:
    from . import preview

    session = _session(args, secrets_later=True)      # ensure_facts waits for the keyring
    try:
        session.ensure_facts()
        portal = session.portal()
        if portal.version is None and sys.stdin.isatty():
            portal = _ask_portal_version(portal)
        plan = session.plan(only=set(args.only) if args.only else None, portal=portal)
        resume = session.resume_lines()
        differences = session.fingerprint_differences()
        if differences:
            print("== " + _("How these hosts differ from the first install (fingerprint)"))
            for d in differences:
                print(f"-- {d.line}" + (f"\n{d.diff}" if d.diff else ""))
            print()
            if session.record is None:
                from .report import RunRecord
                session.record = RunRecord(plan)
            session.record.extra.append((_("Differences from the first install"),
                                         "\n".join(f"- {d.line}" for d in differences)))
        colour = sys.stdout.isatty() and not args.no_colour
        if resume:
            print("== " + _("Interrupted apply (journal)") + "\n"
                  + "\n".join(f"-- {line}" for line in resume) + "\n")
            log.info("journal: %s", "; ".join(resume))
        print(preview.render(plan, colour=colour))
        log.info("preview:\n%s", preview.render(plan))
        if args.command == "plan":
            return errors.EXIT_OK
        return _apply(args, session, plan)
    finally:
        session.shutdown()


def _verify(args) -> int:
    session = _session(args, secrets_later=True)      # session.verify waits for the keyring
    try:
        checks = _print_checks(session.verify())
    finally:
        session.shutdown()
    return errors.EXIT_OK if all(c.ok for c in checks) else errors.EXIT_VERIFY


def _print_checks(checks):
    from .verify import render_lines
    print("== " + _("11. Verify"))
    print("\n".join(render_lines(checks)))
    bad = sum(1 for c in checks if not c.ok)
    print(_("{passed} of {total} checks passed").format(passed=len(checks) - bad, total=len(checks))
          + (_("; {failed} failed").format(failed=bad) if bad else ""))
    return checks


def _ask_portal_version(portal):
    from .facts import PortalVersion
    print(_("The portal version could not be detected ({where}).").format(where=portal.source),
          file=sys.stderr)
    while True:
        print(_("Portal version (e.g. 3.26): "), end="", file=sys.stderr, flush=True)
        v = sys.stdin.readline().strip()
        if re.fullmatch(r"3\.\d{1,2}(\.\d+)?", v):
            return PortalVersion(v, _("asked at run time"))
        if not v:
            return portal


def _backups(args) -> int:
    from . import backups, preview

    session = _session(args, args.host if args.command == "backups" else [args.host])
    try:
        transports = session.transports
        if args.command == "backups":
            for name, t in transports.items():
                print(f"== {name}\n" + backups.describe(backups.list_backups(t)))
            return errors.EXIT_OK
        plan = backups.restore_plan(transports[args.host], args.stamp, args.path, training=args.training)
        print(preview.render(plan, colour=sys.stdout.isatty() and not args.no_colour))
        return _apply(args, session, plan, journal=False)
    finally:
        session.shutdown()


def _apply(args, session, plan, journal: bool = True) -> int:
    from .runner import Runner

    if plan.changing_count == 0:
        print(_("Nothing to do."))
        if journal:
            session.run(plan, emit=lambda e: log.info("%s", e))     # closes an interrupted record
            _manual_steps(args, session, plan)
        return errors.EXIT_OK
    if not args.yes:
        if not sys.stdin.isatty():
            print(_("not a terminal: pass --yes to apply without asking"), file=sys.stderr)
            return errors.EXIT_DECLINED
        print(i18n.ngettext("Apply {n} change? [y/N] ", "Apply {n} changes? [y/N] ",
                            plan.changing_count).format(n=plan.changing_count), end="", flush=True)
        # i18n: the short and long word for yes at the [y/N] prompt, separated by |
        if sys.stdin.readline().strip().lower() not in ("y", "yes", *_("y|yes").split("|")):
            print(_("Nothing was changed."))
            return errors.EXIT_DECLINED
    log_path = getattr(args, "log_path", None)
    host_logs = log_path.with_suffix("") if log_path else None     # RUN/HOST.log
    if journal:
        result = session.run(plan, emit=_print_event, host_logs=host_logs)
    else:                               # a restore: no journal, no report
        result = Runner(plan, session.transports, emit=_print_event, max_parallel=args.parallel,
                        http=session.http_client(), host_logs=host_logs).run()
    if result.backups:
        print(_("backups:"))
        for host, path, backup in result.backups:
            print(f"  {host}: {path} -> {backup}")
    if len(result.hosts) > 1 or not result.ok:
        print(_("result per host:"))
        width = max(len(h) for h in result.hosts)
        for host, hr in result.hosts.items():
            print(f"  {host.ljust(width)}  {hr.summary()}"
                  + ("  " + _("(log {path})").format(path=hr.log) if hr.log else ""))
    if journal and result.ok:
        recorded = session.record_fingerprint()
        if recorded is not None:
            print(_("fingerprint of this install (for replays): {path}").format(path=recorded))
        if getattr(args, "verify", False):
            checks = _print_checks(session.verify())
            from .verify import render_markdown
            session.record.extra.append((_("Verify (section 11)"), render_markdown(checks)))
    if journal:
        path, _text = session.write_report("success" if result.ok else "failed")
        print(_("report: {path}").format(path=path))
        if session.training:
            print("\n".join([_("== Training scenario")] + [f"-- {line}" for line in session.scenario_summary()]))
    if result.ok:
        print(i18n.ngettext("Done: {n} action.", "Done: {n} actions.", result.done).format(n=result.done))
    if journal:
        _manual_steps(args, session, plan)
    return errors.EXIT_OK if result.ok else errors.EXIT_STEP


def _manual_steps(args, session, plan) -> None:
    """The last lines of an apply: the manual portal steps not ticked off yet, and how to."""
    from . import acks
    states = session.plan_ack_states(plan)
    line = acks.summary_line(states)
    if line is None:
        if states:
            print(_("All {n} manual steps in the portal are confirmed.").format(n=len(states)))
        return
    print(safe(masking.mask(line)))
    print(_("Tick each one once it is set in the portal: {command} (or in the TUI, sections 8, 9, 10)").format(
        command=acks.tick_command(args.answers, args.training)))


def _ack(args) -> int:
    """`chatwizard ack ANSWERS [ITEM…] [--undo]`: tick off (or untick) manual portal steps,
    or list them with where each stands."""
    from . import acks
    from .logs import start_run_log
    from .session import Session
    args.log_path = start_run_log("ack")
    session = Session(training=args.training)
    answers = session.load(args.answers)
    known = session.manual_items(answers)
    if args.items:
        for e in session.ack(args.items, not args.undo, answers=answers):
            log.info("%s %s (value %s) at %s by %s", "ticked" if e.ticked else "unticked", e.item, e.value,
                     e.at, e.by or "?")
            what = _("ticked") if e.ticked else _("unticked")
            print(safe(masking.mask(f"{what}: {e.item} ({acks.shown_time(e.at)}" + (f", {e.by})" if e.by else ")"))))
        where = session.acks().path
        print(_("recorded in {path}; the next report lists it").format(path=where))
    if not known:
        print(_("These answers have no manual steps in the portal UI."))
        return errors.EXIT_OK
    for st in session.ack_states(known):
        box = "[x]" if st.confirmed else "[ ]"
        print(safe(masking.mask(f"{box} {st.item.id}: {st.item.setting} = {st.item.value} — {st.describe()}")))
    line = acks.summary_line(session.ack_states(known))
    if line is not None and not args.items:
        print(_("Tick one: {command}; untick: add --undo").format(
            command=acks.tick_command(args.answers, args.training)))
    return errors.EXIT_OK


def _print_event(e) -> None:
    from . import events as ev
    from .termsafe import safe_event

    e = safe_event(e)             # host output and answers values: no terminal escapes
    if isinstance(e, ev.SectionStarted):
        print(f"== {e.title}")
    elif isinstance(e, ev.StepStarted):
        print(f"[{e.host}] ({e.index}/{e.total}) {e.description}\n[{e.host}]   {e.display}")
    elif isinstance(e, ev.OutputLine):
        print(f"[{e.host}]   | {e.line}")
    elif isinstance(e, ev.FileWritten):
        print(f"[{e.host}]   " + _("wrote {path}").format(path=e.path)
              + (" " + _("(backup {path})").format(path=e.backup) if e.backup else ""))
    elif isinstance(e, ev.StepSkipped):
        print(f"[{e.host}] " + _("skipped: {description} ({reason})").format(
            description=e.description, reason=e.reason))
    elif isinstance(e, ev.StepFailed):
        print(f"[{e.host}] " + _("FAILED: {description}").format(description=e.description)
              + "\n  " + _("command: {command}").format(command=e.display)
              + "\n  " + _("exit code: {code}").format(code=e.exit_code)
              + "\n  " + _("reason: {reason}").format(reason=e.reason), file=sys.stderr)
        if e.tail:
            print("  " + _("last output:") + "\n" + "\n".join("    " + l for l in e.tail.splitlines()),
                  file=sys.stderr)
        print("  " + _("nothing after this step ran on that host; fix the cause and run apply again "
                       "(it resumes from the journal)"), file=sys.stderr)
    log.info("%s", e)


if __name__ == "__main__":
    sys.exit(main())
