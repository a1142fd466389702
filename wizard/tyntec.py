"""TynTec Conversations API v2, as far as the CHAT role needs it (procedure section 10).

Webhook configuration of the default application: read it (GET) to see whether the portal's
callbacks are set already, and set them (PATCH). Stdlib only (urllib). The API key is an
argument or comes from the keyring at run time; it is registered with the masking registry
before any request, and never put in a log line, an event or an error text. No redirect is
followed (it would carry the key to another address, even over plain http).
Errors come as application/problem+json (RFC 7807); `describe_problem` renders them plainly.
"""
from __future__ import annotations

import http.client
import json
import logging
import socket
import ssl
import urllib.error
import urllib.request
from http import HTTPStatus
from typing import Callable
from urllib.parse import urlsplit

from . import masking
from .plan import HttpRequest
from .transport.base import TransportError
from .i18n import _

log = logging.getLogger("wizard.tyntec")

API_BASE = "https://api.tyntec.com/chat-api/v2"
APPLICATION_PATH = "/applications/default"
MESSAGES_PATH = "/messages"
HEADERS = (("Accept", "application/problem+json"), ("Content-Type", "application/json"))
INCOMING_EVENTS = ("MoMessage",)
DELIVERY_EVENTS = (
    "MessageStatus::accepted", "MessageStatus::delivered", "MessageStatus::seen",
    "MessageStatus::failed", "MessageStatus::channelFailed", "MessageStatus::deleted",
    "WhatsAppGroupEvent::userJoined", "WhatsAppGroupEvent::userLeft",
    "WhatsAppGroupEvent::subjectChanged", "WhatsAppGroupEvent::descriptionChanged")
TIMEOUT = 30.0
_MAX_SHOWN = 400          # characters of a non-problem error body shown to a person


class TyntecError(Exception):
    """TynTec could not be reached, or answered something that is not what we asked for;
    the message is plain text for a person, `status` the HTTP status (None: no answer)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


# --- what to send ---------------------------------------------------------------------------

def application_url(base: str) -> str:
    return base.rstrip("/") + APPLICATION_PATH


def messages_url(base: str) -> str:
    """ACD.Whatsapp.Tyntec.Url: where the chat server sends WhatsApp messages."""
    return base.rstrip("/") + MESSAGES_PATH


def callback_urls(portal_url: str) -> dict[str, str]:
    """{event type: callback URL} for the portal at `portal_url` (e.g. https://jtel-portal)."""
    root = portal_url.rstrip("/")
    out = {e: root + "/incoming" for e in INCOMING_EVENTS}
    out.update({e: root + "/delivery" for e in DELIVERY_EVENTS})
    return out


def webhook_body(portal_url: str) -> dict:
    """The PATCH body of procedure.md (English page): MoMessage to /incoming, the message
    status and WhatsApp group events to /delivery."""
    if not portal_url.startswith("https://"):
        raise ValueError(_("TynTec calls only https callback URLs, not {url}").format(url=repr(portal_url)))
    root = portal_url.rstrip("/")
    return {"webhooks": [
        {"events": list(INCOMING_EVENTS), "callbackUrl": root + "/incoming"},
        {"events": list(DELIVERY_EVENTS), "callbackUrl": root + "/delivery"}]}


def body_text(body: dict) -> str:
    """The JSON text sent (and shown in the preview)."""
    return json.dumps(body, indent=2) + "\n"


def webhook_differences(application: object, body: dict) -> list[str]:
    """What the application's webhooks lack for `body`, one line per event ([] = all set).
    Only an event's own webhook counts: the catch-all (empty `events`) is not relied on."""
    have: dict[str, set[str]] = {}
    hooks = application.get("webhooks") if isinstance(application, dict) else None
    for hook in hooks if isinstance(hooks, list) else []:
        if not isinstance(hook, dict) or not isinstance(hook.get("events"), list):
            continue
        for event in hook["events"]:
            have.setdefault(str(event), set()).add(str(hook.get("callbackUrl")))
    out = []
    for hook in body["webhooks"]:
        for event in hook["events"]:
            urls = have.get(event, set())
            if urls != {hook["callbackUrl"]}:
                now = ", ".join(sorted(urls)) if urls else _("no webhook of its own")
                out.append(_("{event}: {now} (wanted {url})").format(
                    event=event, now=now, url=hook['callbackUrl']))
    return out


# --- problem+json ---------------------------------------------------------------------------

def describe_problem(status: int, text: str | bytes | None) -> str:
    """An error answer as plain text: "HTTP 400 Constraint Violation: detail", then one line
    per violation. Lenient: TynTec's own problems often lack required fields."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    text = (text or "").strip()
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    try:
        problem = json.loads(text) if text else None
    except ValueError:
        problem = None
    if not isinstance(problem, dict):
        head = f"HTTP {status}" + (f" {phrase}" if phrase else "")
        if not text:
            return head + " (no body)"
        shown = " ".join(text.split())
        if len(shown) > _MAX_SHOWN:
            shown = shown[:_MAX_SHOWN] + " ..."
        return masking.mask(f"{head}: {shown}")
    title = problem.get("title")
    title = str(title).strip() if title not in (None, "") else phrase
    head = f"HTTP {status}" + (f" {title}" if title else "")
    detail = problem.get("detail")
    if detail not in (None, "") and str(detail).strip() != title:
        head += f": {str(detail).strip()}"
    lines = [head]
    pstatus = problem.get("status")
    if pstatus not in (None, "") and str(pstatus) != str(status):
        lines.append("  " + _("(the problem says status {status})").format(status=pstatus))
    violations = problem.get("violations")
    for v in violations if isinstance(violations, list) else []:
        if isinstance(v, dict):
            field, msg = v.get("field"), v.get("message")
            lines.append(f"  - {field}: {msg}" if field else f"  - {msg}")
        else:
            lines.append(f"  - {v}")
    ptype = problem.get("type")
    if ptype and ptype != "about:blank" and not str(ptype).startswith("https://httpstatuses.com/"):
        lines.append("  " + _("(problem type {type})").format(type=ptype))
    instance = problem.get("instance")
    if instance:
        lines.append("  " + _("(instance {instance})").format(instance=instance))
    return masking.mask("\n".join(lines))


# --- transport ------------------------------------------------------------------------------

def _send(method: str, url: str, headers: dict[str, str], data: bytes | None,
          timeout: float, context: ssl.SSLContext | None) -> tuple[int, str]:
    """(status, body text) of one request; any HTTP status is an answer, not an exception.
    TynTecError when nothing came back (DNS, refused, TLS, timeout)."""
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    host = urlsplit(url).netloc
    opener = urllib.request.build_opener(_NoRedirect(), urllib.request.HTTPSHandler(context=context))
    try:
        with opener.open(req, timeout=timeout) as resp:
            return resp.status, resp.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as e:
        with e:
            if 300 <= e.code < 400:
                where = " ".join((e.headers.get("Location") or _("elsewhere")).split())[:200]
                log.warning("%s %s: HTTP %d redirect to %s not followed", method, url, e.code, where)
                return e.code, _("a redirect to {where}, not followed: the API key goes only to "
                                 "whatsapp.api_base itself; if TynTec moved, set api_base to its new "
                                 "https address").format(where=where)
            return e.code, e.read().decode("utf-8", errors="replace")
    except urllib.error.URLError as e:
        reason = e.reason
        if isinstance(reason, ssl.SSLCertVerificationError):
            why = _("its TLS certificate was not accepted ({reason})").format(reason=reason.verify_message)
        else:
            why = str(reason)
        raise TyntecError(masking.mask(_("cannot reach {host}: {why}").format(host=host, why=why))) from None
    except (socket.timeout, TimeoutError):
        raise TyntecError(_("cannot reach {host}: no answer within {seconds} s").format(
            host=host, seconds=f"{timeout:g}")) from None
    except (http.client.HTTPException, ConnectionError, ssl.SSLError, OSError) as e:
        raise TyntecError(masking.mask(_("cannot reach {host}: {why}").format(host=host, why=e))) from None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Follow no redirect: urllib would re-send every header, the API key too, to whatever
    `Location` names (http:// included). The 3xx comes back as the answer instead."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def _auth(apikey: str) -> dict[str, str]:
    if not apikey:
        raise TyntecError(_("no TynTec API key"))
    masking.register(apikey)
    return {"apikey": apikey}


def patch_webhooks(base: str, apikey: str, body: dict, *, timeout: float = TIMEOUT,
                   context: ssl.SSLContext | None = None) -> tuple[int, str]:
    """PATCH /applications/default: (204, "") on success, else (status, problem text)."""
    headers = dict(HEADERS, **_auth(apikey))
    return _send("PATCH", application_url(base), headers, json.dumps(body).encode(), timeout, context)


def get_default(base: str, apikey: str, *, timeout: float = TIMEOUT,
                context: ssl.SSLContext | None = None) -> dict:
    """GET /applications/default as a dict; TyntecError (plain text) on any failure."""
    headers = {"Accept": "application/json, application/problem+json", **_auth(apikey)}
    status, text = _send("GET", application_url(base), headers, None, timeout, context)
    if status != 200:
        raise TyntecError(describe_problem(status, text), status)
    try:
        app = json.loads(text)
    except ValueError:
        raise TyntecError(masking.mask(_("HTTP 200 but not JSON: {text}").format(
            text=" ".join(text.split())[:_MAX_SHOWN])),
                          status) from None
    if not isinstance(app, dict):
        raise TyntecError(_("HTTP 200 but not an application object"), status)
    return app


# --- the Runner's http callable -------------------------------------------------------------

def _keyring_get(ref: str) -> str:
    from . import secrets   # imported here: the keyring backend is chosen at run time
    return secrets.get(ref)


def make_http(get_secret: Callable[[str], str] | None = None, *, timeout: float = TIMEOUT,
              context: ssl.SSLContext | None = None) -> Callable[[HttpRequest], tuple[int, str]]:
    """The `http` callable for wizard.runner.Runner: sends an HttpRequest, filling each
    secret header from the keyring at this moment. Returns (status, body); an error body is
    returned rendered by describe_problem. A request that gets no answer raises
    TransportError (the runner reports the pseudo-host's connection as failed)."""
    get_secret = get_secret or _keyring_get

    def send(req: HttpRequest) -> tuple[int, str]:
        headers = dict(req.headers)
        for name, ref in req.secret_headers:
            value = get_secret(ref)
            masking.register(value)
            headers[name] = value
        log.info("%s %s", req.method, req.url)     # never the headers: they hold the key
        data = req.body.encode("utf-8") if req.body else None
        try:
            status, text = _send(req.method, req.url, headers, data, timeout, context)
        except TyntecError as e:
            raise TransportError(str(e)) from None
        log.info("%s %s: HTTP %d", req.method, req.url, status)
        if 200 <= status < 300:
            return status, masking.mask(text)
        return status, describe_problem(status, text)

    return send


# the Runner's http callable with the keyring and the system's CA certificates
runner_http = make_http()


# --- what planning asks ---------------------------------------------------------------------

class PlanningClient:
    """`Context.http` on real hosts: reads TynTec's default application (GET) with the key
    from the keyring. The training host has its own (wizard.training.tyntec)."""

    def __init__(self, get_secret: Callable[[str], str] | None = None, *, timeout: float = TIMEOUT,
                 context: ssl.SSLContext | None = None):
        self.get_secret, self.timeout, self.context = get_secret or _keyring_get, timeout, context

    def get_default(self, base: str, key_ref: str) -> dict:
        """The application's settings; SecretError when the keyring lacks the key,
        TyntecError (plain text) when TynTec cannot be read."""
        key = self.get_secret(key_ref)
        masking.register(key)
        return get_default(base, key, timeout=self.timeout, context=self.context)
