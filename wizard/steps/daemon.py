"""Section 4: ClientMessenger as a daemon (SysV init script, chkconfig, service).

The page copies `init.d/jtel-clientmessenger` to /etc/init.d, seds the connection line,
`chmod 755`, `chkconfig … on`, `service … start`. Here the wizard computes the final
script (CR stripped, JDBC URL set, DATADIR for WhatsApp) and writes it in one atomic
FileChange, so the preview's diff shows exactly the connection line and DATADIR. The
database password comes from the keyring and is registered with the masking registry,
in every form it takes in the file, before any action exists.
"""
from __future__ import annotations

import re
import shlex
from urllib.parse import unquote

from .. import masking, secret_text
from ..errors import AnswersError, PlanError, SecretError
from ..facts import detect_daemon
from ..initscript import (CONNECTION_PROPERTY, InitScriptError, configure, datadir_for, jdbc_url,
                          percent_encode)
from ..initscript import _secret_forms as _initscript_secret_forms
from ..plan import Action, Command, NoOp
from . import site_text
from ..i18n import _, N_

NAME = "daemon"
TITLE = N_("4. ClientMessenger as a daemon")
ROLES = ("CHAT",)

INIT_DIR = "/etc/init.d"
DATADIR_PATHS = {layout: datadir_for(layout) for layout in ("local", "mounted")}

# the value of `password=` on a connection line, up to the next (escaped) `&` or blank
_OLD_PASSWORD = re.compile(r"[?&]password=((?:\\[^&]|[^\s\\&])*)")


def secret_forms(password: str) -> set[str]:
    """Every form the password takes in a file or command we show: raw, percent-encoded
    (either hex case), shell-escaped, quoted by hand."""
    forms = set(_initscript_secret_forms(password))
    try:
        enc = percent_encode(password)
    except ValueError:
        return forms
    forms.add(re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), enc))
    if len(enc) < 3:
        # masking skips forms shorter than 3 characters: hide the whole query pair instead
        forms.add(f"password={enc}")
    return forms


def _register_old_passwords(text: str | None) -> None:
    """Mask whatever password the installed script holds (the diff's `-` line shows it):
    an old or hand-written password must not leak through the preview either."""
    if not text:
        return
    for line in text.splitlines():
        if CONNECTION_PROPERTY not in line:
            continue
        for m in _OLD_PASSWORD.finditer(line):
            written = m.group(1)
            if not written:
                continue
            unescaped = re.sub(r"\\(.)", r"\1", written)
            masking.register(written, unescaped, unquote(unescaped),
                             unquote(unescaped.replace("+", " ")))


def show_installed(text: str) -> str:
    """An installed script as shown: the `password=` value of every connection line masked
    where it stands (an old or hand-written password is never searched for)."""
    return "\n".join(secret_text.mask_spans(line, _OLD_PASSWORD) if CONNECTION_PROPERTY in line else line
                     for line in text.split("\n"))


def _password(ctx, cfg: dict) -> str:
    ref = cfg.get("db_password")
    if not ref:
        raise AnswersError(_("daemon.db_password: required when the daemon section runs (the JDBC "
                             "URL needs the database password): store it with "
                             "`chatwizard secret set db/root` and write db_password: keyring:db/root"))
    from .. import secrets   # imported here: the keyring backend is chosen at run time
    return secrets.get(ref)   # SecretError when the keyring has no such entry


def _datadir(ctx, host, cfg: dict) -> tuple[str | None, str | None]:
    """(DATADIR value or None when WhatsApp is off, how it was chosen)."""
    if not ctx.section("whatsapp").get("enabled"):
        return None, None
    layout = cfg.get("datadir") or "auto"
    t = ctx.transport(host)
    if layout != "auto":
        path = datadir_for(layout)
        if not t.stat(path).exists:
            ctx.notes.append(_("{host}: daemon.datadir is {layout}, but {path} does not exist "
                               "there; create it (or mount the share) before chats with attachments "
                               "arrive").format(host=host.name, layout=layout, path=path))
        return path, f"daemon.datadir: {layout}"
    found = {lay: p for lay, p in DATADIR_PATHS.items() if t.stat(p).exists}
    if len(found) == 1:
        (lay, p), = found.items()
        return p, _("detected: {path} exists ({layout})").format(path=p, layout=lay)
    local = _("{path} (local)").format(path=DATADIR_PATHS['local'])
    mounted = _("{path} (mounted)").format(path=DATADIR_PATHS['mounted'])
    if not found:
        raise PlanError(_("host {host}: WhatsApp needs the chat data folder, but neither "
                          "{local} nor {mounted} exists there; create the local folder or mount the "
                          "share, or set daemon.datadir to local or mounted").format(
                              host=host.name, local=local, mounted=mounted))
    raise PlanError(_("host {host}: both {local} and {mounted} exist; set daemon.datadir to "
                      "local or mounted in the answers file to say which one the daemon uses").format(
                          host=host.name, local=local, mounted=mounted))


def _check_syntax(t, host, shown: str, script: bytes) -> None:
    """`bash -n` on the script as it would be installed, fed on stdin (nothing is written):
    a script broken elsewhere (a hand edit left a quote open) would otherwise be found only
    by the apply's own check, after the sections before this one had changed the hosts."""
    res = t.run("bash -n /dev/stdin", stdin=script, timeout=60)
    if res.exit_code == 0:
        return
    why = "; ".join(line.replace("/dev/stdin: ", "", 1) for line in res.tail(2).splitlines())
    why = why or _("exit code {code}").format(code=res.exit_code)
    raise PlanError(masking.mask(_("host {host}: {path}: bash -n rejects the script as it "
                                   "would be installed: {why}; repair it first (the wizard only "
                                   "sets the connection line and DATADIR)").format(
                                       host=host.name, path=shown, why=why)))


def _enabled_at_boot(t, service: str) -> bool:
    """`chkconfig --list SERVICE` shows 3:on (an error, e.g. not added yet, counts as off)."""
    res = t.run(f"chkconfig --list {shlex.quote(service)}", sudo=True, timeout=60)
    if res.exit_code != 0:
        return False
    return any(line.split()[:1] == [service] and re.search(r"(^|\s)3:on(\s|$)", line)
               for line in res.stdout.splitlines())


def _running(ctx, host, t, service: str, installed: bytes) -> bool:
    """`service SERVICE status` is not trusted alone (facts.detect_daemon): the pid file's
    process or a ClientMessenger JVM counts too, and a script without a status action is
    not asked for one (its usage line would read as "stopped" and start a second JVM)."""
    state = detect_daemon(t, service, installed.decode("utf-8", errors="replace"))
    if not state.status_action:
        seen = (_("running: {how}").format(how=state.how) if state.running else _("not running"))
        ctx.notes.append(_("{host}: {path} has no status action; the wizard judges the daemon "
                           "from its pid file {pidfile} and the ClientMessenger process "
                           "({seen})").format(host=host.name, path=f"{INIT_DIR}/{service}",
                                              pidfile=state.pidfile, seen=seen))
    elif state.running and state.status_rc != 0:
        ctx.notes.append(_("{host}: `service {service} status` says it is not running (exit code "
                           "{code}), but {how} runs; no second JVM is started").format(
                               host=host.name, service=service, code=state.status_rc, how=state.how))
    return state.running


def plan(ctx, host) -> list[Action]:
    cfg = ctx.section(NAME)
    cm = ctx.section("clientmessenger")
    service = cfg["service"]
    source = f"{cm['target'].rstrip('/')}/init.d/{service}"
    dest = f"{INIT_DIR}/{service}"
    t = ctx.transport(host)
    q = shlex.quote

    # secrets first: nothing below may build an action before they are registered
    password = _password(ctx, cfg)
    masking.register(password, *secret_forms(password))
    old, _planned = ctx.read(host, dest)
    _register_old_passwords(None if old is None else old.decode("utf-8", errors="replace"))

    version = ctx.portal.version
    if not version:
        raise PlanError(_("the portal version is unknown ({source}); the connection URL "
                          "depends on it (serverTimezone from 3.25): set portal.version in the answers "
                          'file (e.g. version: "3.26") or answer the prompt').format(
                              source=ctx.portal.source))
    try:
        url = jdbc_url(host=cfg["db_host"], schema=cfg["db_schema"], user=cfg["db_user"],
                       password=password, portal_version=version, timezone=cfg["timezone"])
    except ValueError as e:
        if "password" in str(e):     # never echo a character of it
            raise SecretError(_("the database password (daemon.db_password) holds a character that "
                                "has no UTF-8 form; Connector/J cannot receive it")) from None
        raise AnswersError(f"daemon: {e}") from None

    src_data, planned = ctx.read(host, source)
    if src_data is None:
        raise PlanError(_("host {host}: {path} does not exist (nor in the ClientMessenger "
                          "repository {repository}); section 2 copies it there").format(
                              host=host.name, path=source, repository=cm['source']))
    # a message names the file that was read: the repository's copy while section 2 has yet
    # to copy it to `source`
    read_from, mirrored = ctx.overlay(host).redirect(source)
    shown = read_from if planned and mirrored else source
    datadir, datadir_why = _datadir(ctx, host, cfg)
    text = site_text(host, shown, src_data)
    try:
        conf = configure(text, url=url, datadir=datadir, source=f"host {host.name}: {shown}")
    except InitScriptError as e:
        raise PlanError(masking.mask(str(e))) from None
    new = conf.text.encode("utf-8")
    # the same script with ******** where the password went, built alongside (by construction)
    masked = secret_text.render(lambda v: configure(text, url=jdbc_url(
        host=cfg["db_host"], schema=cfg["db_schema"], user=cfg["db_user"], password=v["db"],
        portal_version=version, timezone=cfg["timezone"]), datadir=datadir, source=shown).text,
        db=password)
    if masked.revealed != conf.text:           # the two renderings must be the same script
        raise PlanError(_("host {host}: internal error: the masked preview of {path} "
                          "does not match the script").format(host=host.name, path=dest))
    crlf = "\r" in text
    if crlf:
        why = "; ".join(ctx.facts[host.name].windows_reasons) if host.name in ctx.facts else ""
        ctx.notes.append((_("{host}: {path} has Windows (CRLF) line endings ({why}); the wizard "
                            "strips the CRs in the copy it installs to {dest}") if why else
                          _("{host}: {path} has Windows (CRLF) line endings; the wizard strips "
                            "the CRs in the copy it installs to {dest}")).format(
                              host=host.name, path=source, why=why, dest=dest))

    existed = old is not None
    actions: list[Action] = []
    db = f"{cfg['db_user']}@{cfg['db_host']}/{cfg['db_schema']}"
    what = [_("connection URL for {db} (portal {version}, serverTimezone {timezone})").format(
                db=db, version=version, timezone=cfg['timezone']) if "&serverTimezone=" in url else
            _("connection URL for {db} (portal {version})").format(db=db, version=version)]
    if datadir:
        what.append(_("DATADIR {path} ({why})").format(path=datadir, why=datadir_why))
    if crlf:
        what.append(_("CR line endings stripped"))
    what.append(_("mode 0700 root:root: it holds the database password, and only root (init, "
                  "service, chkconfig) reads it"))
    head = (_("Update {path}: {what}") if existed else _("Install {path}: {what}"))
    fc = ctx.file_change(host, head.format(path=dest, what="; ".join(what)),
                         dest, new, mode=0o700, owner="root", group="root",
                         validate="bash -n {path}", new_shown=masked.shown,
                         show_old=show_installed, secret_label=_("DB password"))
    if fc is not None:
        _check_syntax(t, host, shown, new)
    # an interrupted apply that wrote the script but never restarted the daemon counts too
    content_changes = old != new or dest in ctx.pending_writes(host, NAME)
    if fc is None:
        actions.append(NoOp(_("{path} already holds the configured script (mode 0700, "
                              "root:root)").format(path=dest)))
    else:
        actions.append(fc)

    if existed and _enabled_at_boot(t, service):
        actions.append(NoOp(_("{service} already starts at boot (chkconfig: 3:on)").format(service=service)))
    else:
        actions.append(Command(_("Start {service} at boot").format(service=service), f"chkconfig {q(service)} on"))

    running = existed and _running(ctx, host, t, service, old)
    if not running:
        actions.append(Command(_("Start {service}").format(service=service), f"service {q(service)} start"))
    elif content_changes:
        if old == new:
            why = _("the interrupted apply wrote the script but did not restart it")
        elif fc is not None and fc.secret_changed:
            why = _("the DB password changed (masked); it runs with the old one")
        else:
            why = _("it runs with the old init script")
        actions.append(Command(_("Restart {service}: {why}").format(service=service, why=why), f"service {q(service)} restart"))
    else:
        actions.append(NoOp(_("{service} is running with this configuration").format(service=service)))
    return actions
