"""wizard.tyntec: the webhook body, problem+json rendering, and the HTTP client (also as the
Runner's `http` callable) against the local TynTec stand-in (tests/tyntec_standin.py)."""
from __future__ import annotations

import json
import logging

import pytest

from tyntec_standin import TyntecStandin, reference, self_signed
from wizard import masking, tyntec
from wizard.plan import HttpRequest, Plan, SectionPlan
from wizard.runner import Runner
from wizard.transport.base import TransportError

KEY = "tt-Key-7f3a9c2e51d04b88"           # distinctive: greppable in any text
PORTAL = "https://jtel-portal"


@pytest.fixture(autouse=True)
def _clean_masks():
    masking.clear()
    yield
    masking.clear()


@pytest.fixture
def api():
    with TyntecStandin(KEY) as s:
        yield s


@pytest.fixture
def tls_api(tmp_path, monkeypatch):
    """The stand-in on https with a self-signed certificate this process trusts."""
    cert, key, _ = self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", cert)
    with TyntecStandin(KEY, certfile=cert, keyfile=key) as s:
        yield s


def request_for(api, body=None) -> HttpRequest:
    body = body if body is not None else tyntec.webhook_body(PORTAL)
    return HttpRequest("PATCH webhooks", "PATCH", tyntec.application_url(api.base), tyntec.HEADERS,
                       tyntec.body_text(body), secret_headers=(("apikey", "tyntec/apikey"),),
                       ok_status=(204,))


# ------------------------------------------------------------------ the body

def test_webhook_body_has_the_reference_structure():
    ref = reference("applications-patch-request.json")
    body = tyntec.webhook_body(PORTAL)
    assert set(body) == set(ref) == {"webhooks"}
    assert len(body["webhooks"]) == len(ref["webhooks"]) == 2
    for mine, theirs in zip(body["webhooks"], ref["webhooks"]):
        assert set(mine) == set(theirs) == {"events", "callbackUrl"}
        assert all(isinstance(e, str) for e in mine["events"])
    # the reference's placeholders, replaced by the portal
    assert body["webhooks"][0] == {"events": ["MoMessage"], "callbackUrl": PORTAL + "/incoming"}
    assert body["webhooks"][0]["events"] == ref["webhooks"][0]["events"]
    assert body["webhooks"][1]["callbackUrl"] == PORTAL + "/delivery"
    # the English page's list: six message states and the four group events (no 'unknown')
    assert body["webhooks"][1]["events"] == [
        "MessageStatus::accepted", "MessageStatus::delivered", "MessageStatus::seen",
        "MessageStatus::failed", "MessageStatus::channelFailed", "MessageStatus::deleted",
        "WhatsAppGroupEvent::userJoined", "WhatsAppGroupEvent::userLeft",
        "WhatsAppGroupEvent::subjectChanged", "WhatsAppGroupEvent::descriptionChanged"]
    status_events = [e for e in ref["webhooks"][1]["events"] if e != "MessageStatus::unknown"]
    assert body["webhooks"][1]["events"][:6] == status_events
    assert json.loads(tyntec.body_text(body)) == body          # valid JSON, as sent


def test_webhook_body_trailing_slash_and_https_only():
    assert tyntec.webhook_body(PORTAL + "/") == tyntec.webhook_body(PORTAL)
    with pytest.raises(ValueError, match="https"):
        tyntec.webhook_body("http://jtel-portal")


def test_urls_from_the_base():
    assert tyntec.application_url(tyntec.API_BASE) == \
        "https://api.tyntec.com/chat-api/v2/applications/default"
    assert tyntec.messages_url(tyntec.API_BASE + "/") == "https://api.tyntec.com/chat-api/v2/messages"
    urls = tyntec.callback_urls(PORTAL)
    assert urls["MoMessage"] == PORTAL + "/incoming"
    assert {u for e, u in urls.items() if e != "MoMessage"} == {PORTAL + "/delivery"}


# ------------------------------------------------------------------ comparing

def test_differences_against_the_reference_application():
    app = reference("applications-get-default-response.json")
    body = tyntec.webhook_body("https://chat.example.com")
    diff = tyntec.webhook_differences(app, body)
    # the reference's application lacks the group events, everything else matches
    assert [d.split(":")[0] for d in diff] == ["WhatsAppGroupEvent"] * 4
    assert all("no webhook of its own" in d for d in diff)
    assert len(tyntec.webhook_differences(app, tyntec.webhook_body(PORTAL))) == 11


def test_differences_none_when_all_point_right_even_merged():
    body = tyntec.webhook_body(PORTAL)
    merged = {"webhooks": [
        {"events": body["webhooks"][1]["events"][::-1], "callbackUrl": PORTAL + "/delivery"},
        {"events": ["MoMessage", "MoMessage::Postback"], "callbackUrl": PORTAL + "/incoming"},
        {"events": ["MessageStatus::unknown"], "callbackUrl": "https://elsewhere/x"}]}
    assert tyntec.webhook_differences(merged, body) == []


def test_differences_catch_all_and_conflicts_are_not_trusted():
    body = tyntec.webhook_body(PORTAL)
    catch_all = {"webhooks": [{"events": [], "callbackUrl": PORTAL + "/delivery"},
                              {"events": ["MoMessage"], "callbackUrl": PORTAL + "/incoming"}]}
    assert len(tyntec.webhook_differences(catch_all, body)) == 10
    twice = {"webhooks": [{"events": ["MoMessage"], "callbackUrl": PORTAL + "/incoming"},
                          {"events": ["MoMessage"], "callbackUrl": "https://old/incoming"}]}
    assert any(d.startswith("MoMessage:") for d in tyntec.webhook_differences(twice, body))
    for junk in (None, [], {"webhooks": "x"}, {"webhooks": [1, {"events": "MoMessage"}]}):
        assert len(tyntec.webhook_differences(junk, body)) == 11


# ------------------------------------------------------------------ problem+json

@pytest.mark.parametrize("name, status, expected", [
    ("problem-400-constraint-violation.json", 400,
     ["HTTP 400 Constraint Violation", "  - validate.request.whatsapp.contentType: must not be empty"]),
    ("problem-400-not-parseable.json", 400,
     ["HTTP 400 Data given was not parsable: Unexpected end-of-input: expected close marker for Object",
      "  (problem type https://docs.tyntec.com/problems/DataNotParseable)"]),
    ("problem-403-forbidden.json", 403, ["HTTP 403 Forbidden"]),
    ("problem-404-unknown-message.json", 404, ["HTTP 404 Not Found"]),
])
def test_describe_reference_problems(name, status, expected):
    text = json.dumps(reference(name))
    out = tyntec.describe_problem(status, text)
    assert out.splitlines() == expected
    assert "{" not in out and '"' not in out


def test_describe_lenient_forms():
    assert tyntec.describe_problem(502, "<html><body>Bad gateway</body></html>") == \
        "HTTP 502 Bad Gateway: <html><body>Bad gateway</body></html>"
    assert tyntec.describe_problem(500, "") == "HTTP 500 Internal Server Error (no body)"
    assert tyntec.describe_problem(500, b'{"status": "500", "title": "Boom"}') == "HTTP 500 Boom"
    assert tyntec.describe_problem(400, '{"status": 422, "violations": ["bad"]}').splitlines() == \
        ["HTTP 400 Bad Request", "  (the problem says status 422)", "  - bad"]
    assert tyntec.describe_problem(599, "[1, 2]") == "HTTP 599: [1, 2]"
    long = tyntec.describe_problem(503, "x" * 5000)
    assert len(long) < 500 and long.endswith(" ...")


def test_describe_masks_a_key_echoed_back():
    masking.register(KEY)
    out = tyntec.describe_problem(403, json.dumps({"title": "Forbidden", "detail": f"key {KEY} unknown"}))
    assert KEY not in out and masking.MASK in out


# ------------------------------------------------------------------ against the stand-in

def test_patch_204_and_the_request_as_sent(api):
    body = tyntec.webhook_body(PORTAL)
    assert tyntec.patch_webhooks(api.base, KEY, body) == (204, "")
    (req,) = api.requests
    assert (req.method, req.path) == ("PATCH", "/chat-api/v2/applications/default")
    assert req.headers["apikey"] == KEY
    assert req.headers["accept"] == "application/problem+json"
    assert req.headers["content-type"] == "application/json"
    assert json.loads(req.body) == body
    # GET reflects it; the events it did not list keep their URL (MessageStatus::unknown)
    app = tyntec.get_default(api.base, KEY)
    assert tyntec.webhook_differences(app, body) == []
    assert {"events": ["MessageStatus::unknown"], "callbackUrl": "https://chat.example.com/delivery"} \
        in app["webhooks"]
    assert api.requests[-1].headers["apikey"] == KEY


def test_patch_replaces_only_the_listed_events(api):
    tyntec.patch_webhooks(api.base, KEY, tyntec.webhook_body(PORTAL))
    one = {"webhooks": [{"events": ["MoMessage"], "callbackUrl": "https://other/incoming"}]}
    assert tyntec.patch_webhooks(api.base, KEY, one)[0] == 204
    diff = tyntec.webhook_differences(tyntec.get_default(api.base, KEY), tyntec.webhook_body(PORTAL))
    assert diff == ["MoMessage: https://other/incoming (wanted https://jtel-portal/incoming)"]


def test_wrong_key_is_403_problem(api):
    status, text = tyntec.patch_webhooks(api.base, "wrong-key", tyntec.webhook_body(PORTAL))
    assert status == 403
    assert tyntec.describe_problem(status, text) == "HTTP 403 Forbidden"
    with pytest.raises(tyntec.TyntecError) as e:
        tyntec.get_default(api.base, "wrong-key")
    assert e.value.status == 403 and str(e.value) == "HTTP 403 Forbidden"


def test_bad_bodies_are_400_problems(api):
    status, text = tyntec.patch_webhooks(api.base, KEY, {"webhooks": [
        {"events": ["MoMessage", "NoSuchEvent"], "callbackUrl": "http://jtel-portal/incoming"}]})
    assert status == 400
    assert tyntec.describe_problem(status, text).splitlines() == [
        "HTTP 400 Constraint Violation",
        "  - patch.request.webhooks[0].events[1]: unknown event type 'NoSuchEvent'",
        '  - patch.request.webhooks[0].callbackUrl: must match "^https://.*"']
    # the French page's body is not valid JSON
    http = tyntec.make_http(lambda ref: KEY)
    req = request_for(api)
    broken = HttpRequest(req.description, req.method, req.url, req.headers,
                         req.body.replace("},\n    {", "}\n    {"), req.secret_headers, req.ok_status)
    status, text = http(broken)
    assert status == 400
    assert text.startswith("HTTP 400 Data given was not parsable: JSONDecodeError")


def test_unreachable_and_unknown_paths(api):
    assert tyntec.get_default(api.base, KEY)["id"] == "default"
    with pytest.raises(tyntec.TyntecError) as e:
        tyntec.get_default(api.base.replace("/chat-api/v2", "/chat-api/v9"), KEY)
    assert str(e.value) == "HTTP 404 Not Found" and e.value.status == 404
    base = api.base
    api.stop()
    with pytest.raises(tyntec.TyntecError) as e:
        tyntec.get_default(base, KEY)
    assert e.value.status is None and str(e.value).startswith("cannot reach 127.0.0.1:")


def test_tls_needs_a_trusted_certificate(tls_api, monkeypatch):
    assert tls_api.base.startswith("https://")
    assert tyntec.get_default(tls_api.base, KEY)["id"] == "default"
    monkeypatch.delenv("SSL_CERT_FILE")
    monkeypatch.setenv("SSL_CERT_DIR", "/nonexistent")
    with pytest.raises(tyntec.TyntecError, match="TLS certificate was not accepted"):
        tyntec.get_default(tls_api.base, KEY)


# ------------------------------------------------------------------ the Runner's callable

def test_http_callable_reads_the_key_at_run_time_and_never_logs_it(api, caplog):
    asked = []

    def keyring(ref):
        asked.append(ref)
        return KEY

    http = tyntec.make_http(keyring)
    req = request_for(api)
    assert KEY not in req.render() and masking.MASK in req.render()
    assert asked == []                                   # nothing read while planning
    with caplog.at_level(logging.DEBUG):
        assert http(req) == (204, "")
    assert asked == ["tyntec/apikey"]
    assert api.requests[-1].headers["apikey"] == KEY
    assert KEY in masking.known()                        # registered before it was sent
    assert KEY not in caplog.text and "PATCH" in caplog.text


def test_http_callable_renders_problems_and_raises_on_no_answer(api):
    http = tyntec.make_http(lambda ref: "not-the-key")
    status, text = http(request_for(api))
    assert (status, text) == (403, "HTTP 403 Forbidden")
    base = api.base
    api.stop()
    req = HttpRequest("x", "PATCH", base + "/applications/default", tyntec.HEADERS, "{}")
    with pytest.raises(TransportError, match="cannot reach 127.0.0.1"):
        http(req)


def _run(req: HttpRequest, http) -> tuple[object, list]:
    sp = SectionPlan("whatsapp", "10. WhatsApp (TynTec)")
    sp.for_host("TynTec (from this machine)").actions.append(req)
    events: list = []
    res = Runner(Plan([sp]), {}, emit=events.append, http=http).run()
    return res, events


def test_runner_success_and_no_key_in_any_event(api):
    res, events = _run(request_for(api), tyntec.make_http(lambda ref: KEY))
    assert res.ok and res.done == 1
    assert len(api.patches()) == 1
    assert all(KEY not in repr(e) for e in events)


def test_runner_failure_shows_the_problem_plainly(api):
    api.force(400, reference("problem-400-constraint-violation.json"))
    res, events = _run(request_for(api), tyntec.make_http(lambda ref: KEY))
    assert not res.ok
    failed = res.failed["TynTec (from this machine)"]
    assert failed.exit_code == 400 and failed.reason == "HTTP 400"
    assert failed.tail.splitlines() == [
        "HTTP 400 Constraint Violation",
        "  - validate.request.whatsapp.contentType: must not be empty"]
    assert all(KEY not in repr(e) for e in events)


def test_runner_unreachable_is_a_connection_failure(api):
    req = request_for(api)
    api.stop()
    res, events = _run(req, tyntec.make_http(lambda ref: KEY))
    failed = res.failed["TynTec (from this machine)"]
    assert failed.reason.startswith("connection to TynTec (from this machine) failed: cannot reach")
    assert all(KEY not in repr(e) for e in events)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_never_followed_with_the_key(status):
    """Issue 9, finding 4: TynTec (or whoever answers for it) says `302 Location: http://…`;
    urllib would re-send the apikey header there in clear text. Nothing is followed: the
    second stand-in, where the redirect points, never sees a request."""
    with TyntecStandin(apikey=KEY) as api, TyntecStandin(apikey=KEY) as elsewhere:
        target = elsewhere.base + "/applications/default"
        api.force(status, None, {"Location": target})
        with pytest.raises(tyntec.TyntecError) as e:
            tyntec.get_default(api.base, KEY)
        assert e.value.status == status
        assert f"a redirect to {target}, not followed" in str(e.value)
        api.force(status, None, {"Location": target})
        got, text = tyntec.make_http(lambda ref: KEY)(request_for(api))
        assert got == status and "not followed" in text
        assert elsewhere.requests == []
        assert len(api.requests) == 2
