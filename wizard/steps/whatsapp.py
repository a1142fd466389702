"""Section 10: WhatsApp through TynTec (optional; needs https on the load balancer).

- every LB: inside the portal's `frontend acdportal_https`, the `whatsapp_req` ACLs for
  /incoming and /delivery and `use_backend backend_chat_ws if whatsapp_req` (checked with
  `haproxy -c` before it replaces the live file; reloaded only when it changed);
- the three ACD.Whatsapp.* portal parameters and the Chat Connector, as checklists;
- TynTec's webhooks, PATCHed from this machine with the API key from the keyring. At plan
  time the current webhooks are read (GET): when every event already points at the portal
  the PATCH is left out. TynTec reaches the portal through its https frontend (port 443),
  so the callbacks are https://<portal host>/incoming and /delivery.

DATADIR for WhatsApp is section 4's (daemon).
"""
from __future__ import annotations

from urllib.parse import urlsplit

import phonenumbers

from .. import masking
from .. import tyntec
from ..errors import AnswersError, PlanError
from ..plan import Checklist, HttpRequest, NoOp, SectionPlan
from . import load_balancer
from .portal_settings import PORTAL_UI

NAME = "whatsapp"
TITLE = "10. WhatsApp (TynTec)"
ROLES = ("LB",)
TYNTEC_HOST = "TynTec (from this machine)"
API_KEY_REF = "keyring:tyntec/apikey"


def e164(number: str) -> str:
    """The number in E.164, validated with phonenumbers; AnswersError when it is not one."""
    why = "not a valid phone number"
    try:
        parsed = phonenumbers.parse(number, None)
        if phonenumbers.is_valid_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    except phonenumbers.NumberParseException as e:
        why = str(e)
    raise AnswersError(f"whatsapp.phone_number: {number!r} is {why} in E.164 "
                       '(+ country code and number, no spaces, e.g. "+4989123456789")')


def portal_parameters(wa: dict) -> tuple[tuple[str, str], ...]:
    """The ACD.Whatsapp.* values: agents reply and the internet downloads attachments
    through portal_url; the chat server sends through TynTec's messages endpoint."""
    url = wa["portal_url"].rstrip("/")
    return (("ACD.Whatsapp.Server.Base.URL", url),
            ("ACD.Whatsapp.Whatsapp.Url", url),
            ("ACD.Whatsapp.Tyntec.Url", tyntec.messages_url(wa["api_base"])))


def webhook_root(wa: dict) -> str:
    """https://<host of portal_url>: the portal's https frontend, where the ACLs route
    /incoming and /delivery to the chat servers (the page's https://jtel-portal/incoming)."""
    host = urlsplit(wa["portal_url"]).hostname or ""
    return f"https://[{host}]" if ":" in host else f"https://{host}"


def key_name(ref: str) -> str:
    return ref[len("keyring:"):] if ref.startswith("keyring:") else ref


def connector_checklist(wa: dict) -> Checklist:
    ref = wa.get("api_key") or API_KEY_REF
    number, language = e164(wa["phone_number"]), wa.get("language") or "en"
    return Checklist("Chat Connector (portal UI): WhatsApp", (
        ("WhatsApp", "ticked"),
        ("TynTec API key", f"the key stored in keyring {key_name(ref)}"),
        ("Phone number (E.164)", number),
        ("Language of automatic WhatsApp replies", language)),
        keys=(("connector.whatsapp", "on"), ("connector.api_key", key_name(ref)),
              ("connector.phone_number", number), ("connector.language", language)))


def checklists(answers) -> list[Checklist]:
    """What the engineer sets by hand in the portal UI, from the answers alone (none when
    WhatsApp is off); stable item ids for the ticks: wizard.acks."""
    wa = answers.section(NAME)
    if not wa.get("enabled"):
        return []
    params = portal_parameters(wa)
    return [Checklist("Set these parameters as sysadmin (Parameters, ACD.Whatsapp)", params, keys=params),
            connector_checklist(wa)]


def webhook_request(wa: dict, body: dict) -> HttpRequest:
    ref = wa.get("api_key") or API_KEY_REF
    return HttpRequest(
        "Point TynTec's webhooks at the portal (/incoming, /delivery)", "PATCH",
        tyntec.application_url(wa["api_base"]), tyntec.HEADERS, tyntec.body_text(body),
        secret_headers=(("apikey", key_name(ref)),), ok_status=(204,))


def webhook_actions(ctx, wa: dict) -> list:
    """The PATCH, or a NoOp when TynTec already calls the portal for every event."""
    body = tyntec.webhook_body(webhook_root(wa))
    req = webhook_request(wa, body)
    url = tyntec.application_url(wa["api_base"])
    try:
        app = ctx.http.get_default(wa["api_base"], wa.get("api_key") or API_KEY_REF)
    except tyntec.TyntecError as e:
        hint = (f" (is the key in keyring {key_name(wa.get('api_key') or API_KEY_REF)} the "
                "right one?)") if e.status in (401, 403) else ""
        ctx.notes.append(masking.mask(f"TynTec: could not read the current webhooks (GET {url}): "
                                      f"{e}{hint}; the PATCH is planned anyway"))
        return [req]
    missing = tyntec.webhook_differences(app, body)
    if not missing:
        return [NoOp(f"TynTec already calls {webhook_root(wa)}/incoming and /delivery for every "
                     "event type the chat server handles")]
    shown = "; ".join(missing[:3]) + (f"; and {len(missing) - 3} more" if len(missing) > 3 else "")
    ctx.notes.append(masking.mask(f"TynTec: {len(missing)} event type(s) do not call the portal "
                                  f"yet: {shown}"))
    return [req]


def plan_section(ctx) -> SectionPlan | None:
    wa = ctx.section(NAME)
    if not wa.get("enabled"):
        return None
    portal = ctx.section("portal")
    if portal["scheme"] != "https":
        raise PlanError("WhatsApp needs portal.scheme https: the load balancer must serve https "
                        "with a valid certificate, and TynTec calls only https callback URLs "
                        "(procedure section 10)")
    if not wa.get("api_key"):
        raise AnswersError("whatsapp.api_key: required when whatsapp.enabled is true "
                           f"(write api_key: {API_KEY_REF})")
    if not wa.get("phone_number"):
        raise AnswersError('whatsapp.phone_number: required when whatsapp.enabled is true, '
                           'e.g. "+4989123456789"')
    lbs = ctx.answers.hosts_with_role("LB")
    if not lbs:
        raise PlanError("WhatsApp routing goes into the load balancer's haproxy.cfg, but no "
                        "inventory host has role LB")
    sp = SectionPlan(NAME, TITLE)
    path = load_balancer.config_path(ctx)
    for lb in lbs:
        sp.for_host(lb.name).actions.extend(load_balancer.planned_change(
            ctx, lb, path, f"Route /incoming and /delivery of frontend acdportal_https to "
                           f"backend_chat_ws in {path}", whatsapp=True))
    sp.for_host(PORTAL_UI).actions.extend(checklists(ctx.answers))
    root = webhook_root(wa)
    ctx.notes.append(f"TynTec will call {root}/incoming and {root}/delivery: that name must "
                     "resolve from the internet to the load balancer, with a CA-issued "
                     "certificate on its https frontend")
    sp.for_host(TYNTEC_HOST).actions.extend(webhook_actions(ctx, wa))
    return sp
