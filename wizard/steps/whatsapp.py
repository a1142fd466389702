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
from ..i18n import N_, _
from ..i18n import _, N_

NAME = "whatsapp"
TITLE = N_("10. WhatsApp (TynTec)")
ROLES = ("LB",)
TYNTEC_HOST = N_("TynTec (from this machine)")   # a pseudo-host (key), shown with host_label
API_KEY_REF = "keyring:tyntec/apikey"


def e164(number: str) -> str:
    """The number in E.164, validated with phonenumbers; AnswersError when it is not one."""
    why = _("not a valid phone number")
    try:
        parsed = phonenumbers.parse(number, None)
        if phonenumbers.is_valid_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    except phonenumbers.NumberParseException as e:
        why = str(e)
    raise AnswersError(_("whatsapp.phone_number: {number} is {why} in E.164 "
                         '(+ country code and number, no spaces, e.g. "+4989123456789")').format(
                             number=repr(number), why=why))


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
    return Checklist(_("Chat Connector (portal UI): WhatsApp"), (
        ("WhatsApp", _("ticked")),
        (_("TynTec API key"), _("the key stored in keyring {name}").format(name=key_name(ref))),
        (_("Phone number (E.164)"), number),
        (_("Language of automatic WhatsApp replies"), language)),
        keys=(("connector.whatsapp", "on"), ("connector.api_key", key_name(ref)),
              ("connector.phone_number", number), ("connector.language", language)))


def checklists(answers) -> list[Checklist]:
    """What the engineer sets by hand in the portal UI, from the answers alone (none when
    WhatsApp is off); stable item ids for the ticks: wizard.acks."""
    wa = answers.section(NAME)
    if not wa.get("enabled"):
        return []
    params = portal_parameters(wa)
    return [Checklist(_("Set these parameters as sysadmin (Parameters, ACD.Whatsapp)"), params, keys=params),
            connector_checklist(wa)]


def webhook_request(wa: dict, body: dict) -> HttpRequest:
    ref = wa.get("api_key") or API_KEY_REF
    return HttpRequest(
        _("Point TynTec's webhooks at the portal (/incoming, /delivery)"), "PATCH",
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
        hint = _(" (is the key in keyring {name} the right one?)").format(
            name=key_name(wa.get('api_key') or API_KEY_REF)) if e.status in (401, 403) else ""
        ctx.notes.append(masking.mask(_("TynTec: could not read the current webhooks (GET {url}): "
                                        "{error}{hint}; the PATCH is planned anyway").format(
                                            url=url, error=e, hint=hint)))
        return [req]
    missing = tyntec.webhook_differences(app, body)
    if not missing:
        return [NoOp(_("TynTec already calls {root}/incoming and /delivery for every "
                       "event type the chat server handles").format(root=webhook_root(wa)))]
    shown = "; ".join(missing[:3]) + (_("; and {n} more").format(n=len(missing) - 3)
                                      if len(missing) > 3 else "")
    ctx.notes.append(masking.mask(_("TynTec: {n} event type(s) do not call the portal yet: "
                                    "{shown}").format(n=len(missing), shown=shown)))
    return [req]


def plan_section(ctx) -> SectionPlan | None:
    wa = ctx.section(NAME)
    if not wa.get("enabled"):
        return None
    portal = ctx.section("portal")
    if portal["scheme"] != "https":
        raise PlanError(_("WhatsApp needs portal.scheme https: the load balancer must serve https "
                          "with a valid certificate, and TynTec calls only https callback URLs "
                          "(procedure section 10)"))
    if not wa.get("api_key"):
        raise AnswersError(_("whatsapp.api_key: required when whatsapp.enabled is true "
                             "(write api_key: {ref})").format(ref=API_KEY_REF))
    if not wa.get("phone_number"):
        raise AnswersError(_('whatsapp.phone_number: required when whatsapp.enabled is true, '
                             'e.g. "+4989123456789"'))
    lbs = ctx.answers.hosts_with_role("LB")
    if not lbs:
        raise PlanError(_("WhatsApp routing goes into the load balancer's haproxy.cfg, but no "
                          "inventory host has role LB"))
    sp = SectionPlan(NAME, _(TITLE))
    path = load_balancer.config_path(ctx)
    for lb in lbs:
        sp.for_host(lb.name).actions.extend(load_balancer.planned_change(
            ctx, lb, path, _("Route /incoming and /delivery of frontend acdportal_https to "
                             "backend_chat_ws in {path}").format(path=path), whatsapp=True))
    sp.for_host(PORTAL_UI).actions.extend(checklists(ctx.answers))
    root = webhook_root(wa)
    ctx.notes.append(_("TynTec will call {root}/incoming and {root}/delivery: that name must "
                       "resolve from the internet to the load balancer, with a CA-issued "
                       "certificate on its https frontend").format(root=root))
    sp.for_host(TYNTEC_HOST).actions.extend(webhook_actions(ctx, wa))
    return sp
