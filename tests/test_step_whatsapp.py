"""Section 10 (WhatsApp): the LB routing on top of section 7's planned haproxy.cfg, the
portal checklists and the TynTec webhook PATCH against the local stand-in (https, key from a
real keyring); unit tests on fake hosts, then end to end over real SSH."""
from __future__ import annotations

import json

import pytest

from test_step_load_balancer import (CFG, E2E_SECTIONS, PORTAL_CFG, added_lines, answers_for,
                                     apply, build, e2e_answers, e2e_close, e2e_connect,
                                     fakes_for, host_actions, reload_calls, start_lb)
from tyntec_standin import TyntecStandin, reference, self_signed
from wizard import masking, planner, preview, tyntec
from wizard.errors import AnswersError, PlanError, SecretError
from wizard.plan import Checklist, Command, HttpRequest, NoOp
from wizard.steps import whatsapp

from secretscan import TYNTEC_API_KEY as KEY  # noqa: E402 (the standard test secret: spaces, quotes, $ \ % # +)
TYNTEC = whatsapp.TYNTEC_HOST
UI = "portal (web UI)"
BOTH = {"load_balancer", "whatsapp"}
WA_LINES = ["    acl whatsapp_req path /incoming", "    acl whatsapp_req path /delivery",
            "    use_backend backend_chat_ws if whatsapp_req"]


@pytest.fixture(autouse=True)
def _clean_masks():
    masking.clear()
    yield
    masking.clear()


def use_keyring(tmp_path, monkeypatch, values: dict[str, str]):
    """chatwizard's encrypted file keyring in tmp_path, holding `values`."""
    from wizard import secrets
    monkeypatch.setenv("CHATWIZARD_KEYRING_FILE", str(tmp_path / "keyring.json"))
    monkeypatch.setenv("CHATWIZARD_KEYRING_PASSWORD", "test-master-password")
    monkeypatch.setattr(secrets, "_backend", None)
    secrets.configure_backend("file")
    for k, v in values.items():
        secrets.set(k, v)
    masking.clear()                 # whatever is masked later was registered by the wizard


@pytest.fixture
def api(tmp_path, monkeypatch):
    """TynTec's stand-in on https (a certificate this process trusts) and the key in the
    keyring."""
    cert, key, _ = self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", cert)
    use_keyring(tmp_path, monkeypatch, {"tyntec/apikey": KEY})
    with TyntecStandin(KEY, certfile=cert, keyfile=key) as s:
        yield s


def wa_answers(api, **kw):
    wa = {"api_base": api.base, **kw.pop("whatsapp", {})}
    return answers_for(whatsapp=wa, **kw)


def everything_shown(plan, events=()) -> str:
    """Every text a person or a log sees: preview, notes, renders, events."""
    parts = [preview.render(plan)]
    parts += [a.render() for _, _, a in plan.actions()]
    parts += [n for s in plan.sections for n in s.notes]
    parts += [repr(e) for e in events]
    return "\n".join(parts)


# ------------------------------------------------------------------ unit: when it runs

def test_disabled_means_no_section(api):
    ans = answers_for()
    assert whatsapp.plan_section(planner.Context(ans, {}, {}, None)) is None
    plan = build(ans, fakes_for(ans), only=BOTH)
    assert [s.name for s in plan.sections] == ["load_balancer"]
    assert api.requests == []


def test_refused_without_https(api):
    ans = answers_for(scheme="http", whatsapp={"api_base": api.base}, validate=False)
    with pytest.raises(PlanError, match="WhatsApp needs portal.scheme https"):
        build(ans, fakes_for(ans), only=BOTH)
    assert api.requests == []


def test_missing_key_in_the_keyring_is_a_secret_error(api, tmp_path, monkeypatch):
    (tmp_path / "other").mkdir()
    use_keyring(tmp_path / "other", monkeypatch, {})          # a keyring without the key
    ans = wa_answers(api)
    with pytest.raises(SecretError, match="tyntec/apikey"):
        build(ans, fakes_for(ans), only=BOTH)


# ------------------------------------------------------------------ unit: the plan

def test_plan_on_top_of_section_7(api):
    ans = wa_answers(api)
    fakes = fakes_for(ans)
    plan = build(ans, fakes, only=BOTH)
    assert [s.name for s in plan.sections] == ["load_balancer", "whatsapp"]
    fc7 = host_actions(plan, "load_balancer", "lb1")[0]
    fc10, reload = host_actions(plan, "whatsapp", "lb1")
    # section 10 sees section 7's planned file; its diff holds only the WhatsApp lines
    assert fc10.old == fc7.new and fc10.base_unknown
    assert added_lines(fc10) == WA_LINES
    assert fc10.validate == "haproxy -c -f {path}"
    assert (fc10.mode, fc10.owner, fc10.group) == (0o640, "root", "haproxy")
    assert reload.command == "systemctl reload haproxy"
    text = fc10.new.decode()
    https_fe = text[text.index("frontend acdportal_https"):text.index("backend backend_acdportal\n")]
    assert https_fe.index("use_backend backend_chat_ws if whatsapp_req") < \
        https_fe.index("use_backend backend_acdportal_ws")
    notes = plan.section("whatsapp").notes
    assert [n for n in notes if n.startswith("lb1: ")] == [
        f"lb1: frontend acdportal_https (line 45): added '{ln.strip()}'" for ln in WA_LINES]
    # the portal UI
    params, connector = host_actions(plan, "whatsapp", UI)
    assert params.items == (("ACD.Whatsapp.Server.Base.URL", "https://jtel-portal:3003"),
                            ("ACD.Whatsapp.Whatsapp.Url", "https://jtel-portal:3003"),
                            ("ACD.Whatsapp.Tyntec.Url", api.base + "/messages"))
    assert connector.items == (("WhatsApp", "ticked"),
                               ("TynTec API key", "the key stored in keyring tyntec/apikey"),
                               ("Phone number (E.164)", "+4989123456789"),
                               ("Language of automatic WhatsApp replies", "en"))
    # TynTec: asked with the key, then the PATCH planned (the reference application points
    # elsewhere)
    (req,) = host_actions(plan, "whatsapp", TYNTEC)
    assert isinstance(req, HttpRequest)
    assert (req.method, req.url) == ("PATCH", api.base + "/applications/default")
    assert req.headers == (("Accept", "application/problem+json"), ("Content-Type", "application/json"))
    assert req.secret_headers == (("apikey", "tyntec/apikey"),)
    assert req.ok_status == (204,)
    assert json.loads(req.body) == tyntec.webhook_body("https://jtel-portal")
    assert [(r.method, r.path, r.headers["apikey"]) for r in api.requests] == \
        [("GET", "/chat-api/v2/applications/default", KEY)]
    assert any(n.startswith("TynTec: 11 event type(s) do not call the portal yet: MoMessage: "
                            "https://chat.example.com/incoming") for n in notes)
    assert "TynTec will call https://jtel-portal/incoming and https://jtel-portal/delivery" in " ".join(notes)
    shown = everything_shown(plan)
    assert KEY not in shown and "apikey: ******** (from keyring tyntec/apikey)" in shown


def test_apply_then_second_plan_changes_nothing(api):
    ans = wa_answers(api)
    fakes = fakes_for(ans)
    plan = build(ans, fakes, only=BOTH)
    res, events = apply(plan, fakes, http=tyntec.runner_http)     # the keyring, at run time
    assert res.ok, [e for e in events if type(e).__name__ == "StepFailed"]
    live = fakes["lb1"].files[CFG].decode()
    assert all(ln in live for ln in WA_LINES) and "frontend acdportal_chat_wss" in live
    reloads = [c for c in fakes["lb1"].commands if c.command == "systemctl reload haproxy"]
    assert len(reloads) == 2                                   # after section 7, after section 10
    (patch,) = api.patches()
    assert patch.headers["apikey"] == KEY
    assert json.loads(patch.body) == tyntec.webhook_body("https://jtel-portal")
    assert KEY not in everything_shown(plan, events)
    again = build(ans, fakes, only=BOTH)
    assert again.changing_count == 0, preview.render(again)
    (noop,) = host_actions(again, "whatsapp", TYNTEC)
    assert isinstance(noop, NoOp) and "already calls https://jtel-portal/incoming" in noop.description
    assert [type(a) for a in host_actions(again, "whatsapp", "lb1")] == [NoOp]
    assert len(api.patches()) == 1


def test_already_pointing_right_is_a_noop(api):
    api.application = {"id": "default", "name": "Default Application",
                       "webhooks": tyntec.webhook_body("https://chat.example.com")["webhooks"]}
    ans = wa_answers(api, whatsapp={"portal_url": "https://chat.example.com:3003"})
    plan = build(ans, fakes_for(ans), only=BOTH)
    assert [type(a) for a in host_actions(plan, "whatsapp", TYNTEC)] == [NoOp]


def test_reference_application_lacks_only_the_group_events(api):
    ans = wa_answers(api, whatsapp={"portal_url": "https://chat.example.com:3003"})
    plan = build(ans, fakes_for(ans), only=BOTH)
    (req,) = host_actions(plan, "whatsapp", TYNTEC)
    assert isinstance(req, HttpRequest)
    assert json.loads(req.body)["webhooks"][0]["callbackUrl"] == "https://chat.example.com/incoming"
    note = next(n for n in plan.section("whatsapp").notes if n.startswith("TynTec: 4 event"))
    assert "WhatsAppGroupEvent::userJoined: no webhook of its own" in note


def test_get_refused_is_shown_plainly_and_the_patch_still_planned(api, tmp_path, monkeypatch):
    (tmp_path / "k2").mkdir()
    use_keyring(tmp_path / "k2", monkeypatch, {"tyntec/apikey": "an-old-revoked-key"})
    ans = wa_answers(api)
    plan = build(ans, fakes_for(ans), only=BOTH)
    (req,) = host_actions(plan, "whatsapp", TYNTEC)
    assert isinstance(req, HttpRequest)
    note = next(n for n in plan.section("whatsapp").notes if "could not read" in n)
    assert note == (f"TynTec: could not read the current webhooks (GET {api.base}/applications/default): "
                    "HTTP 403 Forbidden (is the key in keyring tyntec/apikey the right one?); "
                    "the PATCH is planned anyway")
    assert "an-old-revoked-key" not in everything_shown(plan)


def test_get_unreachable_is_shown_plainly_and_the_patch_still_planned(api):
    ans = wa_answers(api)
    api.stop()
    plan = build(ans, fakes_for(ans), only=BOTH)
    assert isinstance(host_actions(plan, "whatsapp", TYNTEC)[0], HttpRequest)
    note = next(n for n in plan.section("whatsapp").notes if "could not read" in n)
    assert "cannot reach 127.0.0.1:" in note and note.endswith("the PATCH is planned anyway")


def test_patch_rejected_at_run_time_shows_the_problem(api):
    ans = wa_answers(api)
    fakes = fakes_for(ans)
    plan = build(ans, fakes, only={"whatsapp"})
    api.force(400, reference("problem-400-not-parseable.json"))
    res, events = apply(plan, fakes, http=tyntec.runner_http)
    assert not res.ok
    failed = res.failed[TYNTEC]
    assert (failed.exit_code, failed.reason) == (400, "HTTP 400")
    assert failed.tail == ("HTTP 400 Data given was not parsable: Unexpected end-of-input: expected "
                           "close marker for Object\n"
                           "  (problem type https://docs.tyntec.com/problems/DataNotParseable)")
    assert KEY not in everything_shown(plan, events)


def test_training_asks_the_simulated_tyntec(api):
    """Same step code in training: the GET goes to the training host's TynTec, whose
    webhooks the simulated PATCH set; the real one is never asked."""
    from wizard.training import SimHost, http_client, planning_http
    sim = SimHost()                               # in memory: no state file
    ans = wa_answers(api)
    plan = build(ans, fakes_for(ans), only=BOTH, training=True, http=planning_http(sim))
    req = host_actions(plan, "whatsapp", TYNTEC)[0]
    assert isinstance(req, HttpRequest)
    assert any("event type(s) do not call the portal yet" in n for n in plan.section("whatsapp").notes)
    assert http_client(sim)(req) == (204, "")
    plan = build(ans, fakes_for(ans), only=BOTH, training=True, http=planning_http(sim))
    assert [type(a) for a in host_actions(plan, "whatsapp", TYNTEC)] == [NoOp]
    assert api.requests == []
    sim.reset()                                   # a reset forgets the webhooks
    plan = build(ans, fakes_for(ans), only=BOTH, training=True, http=planning_http(sim))
    assert isinstance(host_actions(plan, "whatsapp", TYNTEC)[0], HttpRequest)


def test_whatsapp_alone_adds_the_chat_frontend_too(api):
    ans = wa_answers(api, skip=("load_balancer",))
    plan = build(ans, fakes_for(ans), only=BOTH)
    assert [s.name for s in plan.sections] == ["whatsapp"]
    fc = host_actions(plan, "whatsapp", "lb1")[0]
    added = added_lines(fc)
    assert all(ln in added for ln in WA_LINES) and "frontend acdportal_chat_wss" in added
    notes = plan.section("whatsapp").notes
    assert any("section 7 is not part of this plan" in n for n in notes)
    assert "lb1: added frontend acdportal_chat_wss: bind :3003 ssl crt /etc/haproxy/haproxy.pem" in notes


def test_no_portal_https_frontend_is_a_plan_error(api):
    cfg = PORTAL_CFG.replace(b"frontend acdportal_https", b"frontend portal_tls")
    ans = wa_answers(api)
    with pytest.raises(PlanError, match=rf"host lb1: {CFG}: frontend acdportal_https is missing"):
        build(ans, fakes_for(ans, cfg=cfg), only=BOTH)


def test_already_routed_is_a_noop_on_the_lb(api):
    ans = wa_answers(api)
    fakes = fakes_for(ans)
    apply(build(ans, fakes, only=BOTH), fakes, http=tyntec.runner_http)
    plan = build(ans, fakes, only={"whatsapp"})
    assert [type(a) for a in host_actions(plan, "whatsapp", "lb1")] == [NoOp]
    assert "lb1: frontend acdportal_https (line 45) already routes WhatsApp to backend_chat_ws; " \
           "left alone" in plan.section("whatsapp").notes


def test_centos6_reloads_with_service(api):
    ans = wa_answers(api)
    plan = build(ans, fakes_for(ans), only=BOTH, major=6)
    assert isinstance(host_actions(plan, "whatsapp", "lb1")[1], Command)
    assert host_actions(plan, "whatsapp", "lb1")[1].command == "service haproxy reload"


def test_portal_url_and_api_base_drive_the_values(api):
    ans = wa_answers(api, whatsapp={"portal_url": "https://chat.example.org:8443/", "language": "de"})
    plan = build(ans, fakes_for(ans), only={"whatsapp"})
    params, connector = host_actions(plan, "whatsapp", UI)
    assert dict(params.items)["ACD.Whatsapp.Server.Base.URL"] == "https://chat.example.org:8443"
    assert dict(connector.items)["Language of automatic WhatsApp replies"] == "de"
    (req,) = host_actions(plan, "whatsapp", TYNTEC)
    assert json.loads(req.body)["webhooks"][1]["callbackUrl"] == "https://chat.example.org/delivery"
    default = {"api_base": tyntec.API_BASE, "portal_url": "https://jtel-portal:3003"}
    assert dict(whatsapp.portal_parameters(default))["ACD.Whatsapp.Tyntec.Url"] == \
        "https://api.tyntec.com/chat-api/v2/messages"


def test_phone_numbers():
    assert whatsapp.e164("+4989123456789") == "+4989123456789"
    assert whatsapp.e164("+49 (89) 123456-789") == "+4989123456789"
    for bad in ("+49123", "004989123456789", "089123456789", "+99912345678", "call me"):
        with pytest.raises(AnswersError, match="whatsapp.phone_number"):
            whatsapp.e164(bad)
    c = whatsapp.connector_checklist({"api_key": "keyring:wa/key", "phone_number": "+1 650-253-0000"})
    assert isinstance(c, Checklist)
    assert dict(c.items)["Phone number (E.164)"] == "+16502530000"
    assert dict(c.items)["TynTec API key"] == "the key stored in keyring wa/key"


# ------------------------------------------------------------------ end to end (real SSH)

@pytest.mark.parametrize("flavor", ["centos6", "centos7"])
def test_e2e_whatsapp_routing_and_webhooks(host_factory, tmp_path, api, flavor):
    """Sections 7 and 10 on a real LB: the candidate passes the real `haproxy -c`, the live
    haproxy.cfg holds the chat frontend and the WhatsApp routing, haproxy is reloaded after
    each change; TynTec gets one PATCH with the key; a second plan changes nothing."""
    lb = start_lb(host_factory, flavor, tmp_path)
    chat = host_factory(flavor)
    ans = e2e_answers({"chat1": chat}, lb, whatsapp={"api_base": api.base})
    transports = e2e_connect(ans, {"chat1": chat, "lb1": lb}, tmp_path)
    try:
        plan = planner.build(ans, transports, only=E2E_SECTIONS)
        assert [s.name for s in plan.sections] == ["load_balancer", "whatsapp"]
        assert added_lines(host_actions(plan, "whatsapp", "lb1")[0]) == WA_LINES
        res, events = apply(plan, transports, http=tyntec.runner_http)
        assert res.ok, [e for e in events if type(e).__name__ == "StepFailed"]
        live = lb.read(CFG)
        assert "\n".join(WA_LINES) + "\n" in live
        assert f"    server chatserver1 {chat.host}:3000 weight 1 check inter 1m\n" in live
        rc, out, err = lb.run(f"haproxy -c -f {CFG}")
        assert rc == 0, out + err
        assert [c["rc"] for c in reload_calls(lb, flavor)] == [0, 0]
        (patch,) = api.patches()
        assert patch.headers["apikey"] == KEY
        assert json.loads(patch.body) == tyntec.webhook_body("https://jtel-portal")
        assert KEY not in everything_shown(plan, events)
        again = planner.build(ans, transports, only=E2E_SECTIONS)
        assert again.changing_count == 0, preview.render(again)
        assert len(api.patches()) == 1
    finally:
        e2e_close(transports)
    assert len(reload_calls(lb, flavor)) == 2


def test_e2e_missing_portal_frontend_is_refused_before_anything(host_factory, tmp_path, api):
    lb = start_lb(host_factory, "centos7", tmp_path,
                  cfg=PORTAL_CFG.replace(b"frontend acdportal_https", b"frontend portal_tls"))
    chat = host_factory("centos7")
    ans = e2e_answers({"chat1": chat}, lb, whatsapp={"api_base": api.base})
    transports = e2e_connect(ans, {"chat1": chat, "lb1": lb}, tmp_path)
    try:
        with pytest.raises(PlanError, match="frontend acdportal_https is missing"):
            planner.build(ans, transports, only=E2E_SECTIONS)
    finally:
        e2e_close(transports)
    assert reload_calls(lb, "centos7") == []
    assert api.patches() == []
