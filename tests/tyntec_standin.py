"""A local stand-in for TynTec's Conversations API v2 webhook configuration.

Listens on 127.0.0.1 (plain HTTP, or TLS with a given certificate), records every request
and answers the way the reference payloads in tests/data/tyntec/ say (copied from
../shared/reference/tyntec, see its README):

- GET  /chat-api/v2/applications/default  200, the application as it is now
  (starts as applications-get-default-response.json)
- GET  /chat-api/v2/applications          200, [that application]
- PATCH /chat-api/v2/applications/default  204 without a body; only the event types listed
  change their URL, events with the same URL merge into one webhook, an empty `events`
  list sets the catch-all webhook
- a missing or wrong `apikey` header       403 problem-403-forbidden.json
- a body that is not JSON                  400 problem-400-not-parseable.json
- a body that breaks the schema            400 "Constraint Violation" with `violations`
  (the shape of problem-400-constraint-violation.json)
- anything else                            404 {"status": 404} (problem-404-unknown-message.json)

    with TyntecStandin(apikey="k") as api:
        api.base                 # "http://127.0.0.1:PORT/chat-api/v2"
        api.requests[-1]         # Recorded(method, path, headers, body)
        api.application          # the webhook configuration GET returns now
"""
from __future__ import annotations

import copy
import json
import re
import ssl
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "tyntec"
PREFIX = "/chat-api/v2"
PROBLEM = "application/problem+json"
EVENT_TYPES = frozenset({
    "MoMessage", "MoMessage::Postback",
    "MessageStatus::accepted", "MessageStatus::channelFailed", "MessageStatus::deleted",
    "MessageStatus::delivered", "MessageStatus::failed", "MessageStatus::seen",
    "MessageStatus::unknown",
    "WhatsAppGroupEvent::userJoined", "WhatsAppGroupEvent::userLeft",
    "WhatsAppGroupEvent::subjectChanged", "WhatsAppGroupEvent::descriptionChanged"})


def reference(name: str):
    """One reference payload, parsed."""
    return json.loads((DATA / name).read_text("utf-8"))


@dataclass(frozen=True)
class Recorded:
    """One request as the stand-in received it (header names lower-case)."""
    method: str
    path: str
    headers: dict
    body: str


class TyntecStandin:
    """The stand-in server; start()/stop() or use it as a context manager."""

    def __init__(self, apikey: str = "standin-apikey", *, certfile: str | None = None,
                 keyfile: str | None = None, application: dict | None = None):
        self.apikey = apikey
        self.certfile, self.keyfile = certfile, keyfile
        self.application = copy.deepcopy(application if application is not None
                                          else reference("applications-get-default-response.json"))
        self.requests: list[Recorded] = []
        self.forced: list[tuple[int, object, dict]] = []   # answers to give before the normal ones
        self.extra_headers: dict = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle
    def start(self) -> "TyntecStandin":
        handler = type("Handler", (_Handler,), {"api": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        if self.certfile:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.certfile, self.keyfile)
            self._server.socket = ctx.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True,
                                        name="tyntec-standin")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "TyntecStandin":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base(self) -> str:
        scheme = "https" if self.certfile else "http"
        return f"{scheme}://127.0.0.1:{self.port}{PREFIX}"

    def force(self, status: int, payload: object = None, headers: dict | None = None) -> None:
        """Answer the next request with this status and payload (a problem dict, or None),
        and these extra headers (e.g. a redirect's Location)."""
        with self._lock:
            self.forced.append((status, payload, headers or {}))

    def patches(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "PATCH"]

    # -- the API
    def answer(self, method: str, path: str, headers: dict, body: str) -> tuple[int, object]:
        """(status, payload) for one request; payload None means no body."""
        with self._lock:
            self.requests.append(Recorded(method, path, dict(headers), body))
            if self.forced:
                status, payload, self.extra_headers = self.forced.pop(0)
                return status, payload
            self.extra_headers = {}
            if path.split("?")[0] not in (PREFIX + "/applications", PREFIX + "/applications/default"):
                return 404, reference("problem-404-unknown-message.json")
            if headers.get("apikey") != self.apikey:
                return 403, reference("problem-403-forbidden.json")
            if method == "GET" and path == PREFIX + "/applications/default":
                return 200, copy.deepcopy(self.application)
            if method == "GET":
                return 200, [copy.deepcopy(self.application)]
            if method != "PATCH" or not path.endswith("/default"):
                return 405, {"title": "Method Not Allowed", "status": 405}
            if headers.get("content-type", "").split(";")[0].strip() != "application/json":
                return 415, {"type": "https://httpstatuses.com/415",
                             "title": "Unsupported Media Type", "status": 415}
            try:
                doc = json.loads(body)
            except ValueError as e:
                problem = reference("problem-400-not-parseable.json")
                problem["detail"] = f"{type(e).__name__}: {e}"
                return 400, problem
            violations = _violations(doc)
            if violations:
                problem = reference("problem-400-constraint-violation.json")
                problem["violations"] = violations
                return 400, problem
            self._apply(doc["webhooks"])
            return 204, None

    def _apply(self, webhooks: list[dict]) -> None:
        hooks = self.application.setdefault("webhooks", [])
        for new in webhooks:
            url, events = new["callbackUrl"], list(new["events"])
            if not events:                                 # the catch-all webhook
                hooks[:] = [h for h in hooks if h.get("events")]
                hooks.append({"events": [], "callbackUrl": url})
                continue
            kept = []
            for h in hooks:
                if h.get("events"):
                    h["events"] = [e for e in h["events"] if e not in events]
                    if not h["events"]:
                        continue                           # every event moved elsewhere
                kept.append(h)
            hooks[:] = kept
            same = next((h for h in hooks if h.get("events") and h["callbackUrl"] == url), None)
            if same is not None:
                same["events"] += events
            else:
                hooks.append({"events": events, "callbackUrl": url})


def _violations(doc: object) -> list[dict]:
    """Schema problems of a PATCH body, as TynTec lists them (field, message)."""
    if not isinstance(doc, dict):
        return [{"field": "patch.request", "message": "must be an object"}]
    out = []
    hooks = doc.get("webhooks")
    if not isinstance(hooks, list):
        return [{"field": "patch.request.webhooks", "message": "must not be null"}]
    for i, hook in enumerate(hooks):
        where = f"patch.request.webhooks[{i}]"
        if not isinstance(hook, dict):
            out.append({"field": where, "message": "must be an object"})
            continue
        unknown = set(hook) - {"events", "callbackUrl"}
        for key in sorted(unknown):
            out.append({"field": f"{where}.{key}", "message": "unknown property"})
        events = hook.get("events")
        if not isinstance(events, list):
            out.append({"field": f"{where}.events", "message": "must not be null"})
        else:
            for j, e in enumerate(events):
                if e not in EVENT_TYPES:
                    out.append({"field": f"{where}.events[{j}]",
                                "message": f"unknown event type {e!r}"})
        url = hook.get("callbackUrl")
        if not isinstance(url, str) or not re.match(r"^https://.*", url):
            out.append({"field": f"{where}.callbackUrl", "message": 'must match "^https://.*"'})
    return out


class _Handler(BaseHTTPRequestHandler):
    api: TyntecStandin
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):      # quiet: the tests read api.requests
        pass

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", errors="replace") if length else ""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, payload = self.api.answer(self.command, self.path, headers, body)
        self.send_response(status)
        for k, v in self.api.extra_headers.items():
            self.send_header(k, v)
        if payload is None:
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = json.dumps(payload).encode()
        ctype = "application/json" if status < 400 else PROBLEM
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_PATCH = do_POST = do_PUT = do_DELETE = _handle


def self_signed(folder, names=("127.0.0.1", "localhost")) -> tuple[str, str, str]:
    """A self-signed certificate for `names` (IPs and DNS names) written into `folder`:
    (cert.pem, key.pem, combined.pem with both, the form haproxy's `crt` takes)."""
    import datetime
    import ipaddress
    import os

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    alt = []
    for n in names:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            alt.append(x509.DNSName(n))
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    paths = []
    for name, data in (("cert.pem", cert_pem), ("key.pem", key_pem),
                       ("combined.pem", cert_pem + key_pem)):
        p = os.path.join(str(folder), name)
        with open(p, "wb") as f:
            f.write(data)
        paths.append(p)
    return tuple(paths)
