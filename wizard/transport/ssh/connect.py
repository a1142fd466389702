"""Connecting: ~/.ssh/config resolution, jump hosts (ProxyJump), the TCP connection, key
exchange and the host key check, and the log of what was negotiated (SHA-1 warnings).
A mixin of SSHTransport; logging in is auth.py's."""
from __future__ import annotations

import getpass
import logging
import os
import re
import shlex
import socket
from dataclasses import dataclass

import paramiko

from wizard.errors import ConnectError, HostKeyError
from wizard.i18n import _
from wizard.transport import hostkeys
from wizard.transport.ssh.liveness import _Transport

log = logging.getLogger("wizard.transport")

_LEGACY_HOSTKEY_ALGOS = ("ssh-rsa", "ssh-dss")


def _is_sha1(kind: str, algo: str | None) -> bool:
    if not algo:
        return False
    if kind == "kex":
        return algo.endswith("-sha1")
    if kind in ("host_key", "pubkey"):
        return algo in _LEGACY_HOSTKEY_ALGOS
    if kind == "mac":
        return algo.startswith("hmac-sha1")
    return False


@dataclass
class _Hop:
    """One SSH endpoint after ~/.ssh/config resolution."""

    alias: str
    hostname: str
    port: int
    user: str
    key_files: list[str]
    identities_only: bool
    known_hosts: list[str] | None        # None: the default files
    host_key_alias: str | None
    proxy_jump: str | None
    label: str = ""

    @property
    def addr(self) -> str:
        return f"{self.hostname}:{self.port}"


class _Connecting:
    """connect() and what it needs (mixed into SSHTransport)."""

    def connect(self) -> None:
        """Open the connection (again). Raises ConnectError / HostKeyError."""
        with self._lock:
            self.close()
            config = self._load_config()
            target = self._resolve(self.spec.address, config, port=self.spec.port,
                                   user=self.spec.user, key_file=self.spec.key_file)
            target.label = f"{self.spec.name} ({target.addr})"
            self.label, self.user = target.label, target.user
            try:
                prev: _Transport | None = None
                via = []
                if target.proxy_jump and target.proxy_jump.lower() != "none":
                    for hop_text in target.proxy_jump.split(","):
                        hop = self._parse_jump(hop_text.strip(), config)
                        hop.label = _("{host}: jump host {alias} ({address})").format(
                            host=self.spec.name, alias=hop.alias, address=hop.addr)
                        sock = self._open_sock(hop, prev)
                        t = self._handshake(sock, hop)
                        self._jumps.append(t)
                        self._authenticate(t, hop, password_ok=False)
                        t.arm(self.dead_peer_after)
                        via.append(hop.alias)
                        prev = t
                sock = self._open_sock(target, prev)
                self._t = self._handshake(sock, target)
                t = self._t
                self._authenticate(t, target, password_ok=True)
                t.arm(self.dead_peer_after)
                self._negotiated["via"] = via
                self._log_negotiated(target)
            except BaseException:
                self.close()
                raise

    # ---- resolution -------------------------------------------------------------------
    def _load_config(self) -> paramiko.SSHConfig:
        try:
            return paramiko.SSHConfig.from_path(self.ssh_config_path)
        except FileNotFoundError:
            return paramiko.SSHConfig()
        except Exception as e:  # a broken config is worth saying, not a traceback
            raise ConnectError(_("cannot read the ssh config {path}: {reason}").format(
                path=self.ssh_config_path, reason=e)) from e

    def _resolve(self, alias: str, config: paramiko.SSHConfig, *, port=None, user=None,
                 key_file=None) -> _Hop:
        c = config.lookup(alias)
        keys = [os.path.expanduser(key_file)] if key_file else []
        keys += [os.path.expanduser(k) for k in c.get("identityfile", []) if os.path.expanduser(k) not in keys]
        kh = c.get("userknownhostsfile")
        return _Hop(
            alias=alias,
            hostname=c.get("hostname", alias),
            port=int(port or c.get("port") or 22),
            user=user or c.get("user") or getpass.getuser(),
            key_files=keys,
            identities_only=c.get("identitiesonly", "no").lower() == "yes",
            known_hosts=[os.path.expanduser(p) for p in shlex.split(kh)] if kh else None,
            host_key_alias=c.get("hostkeyalias"),
            proxy_jump=c.get("proxyjump"),
        )

    def _parse_jump(self, text: str, config: paramiko.SSHConfig) -> _Hop:
        if text.startswith("ssh://"):
            text = text[len("ssh://"):]
        user = None
        if "@" in text:
            user, text = text.rsplit("@", 1)
        port = None
        m = re.fullmatch(r"\[(.+)\]:(\d+)|([^:]+):(\d+)", text)
        if m:
            text, port = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        return self._resolve(text, config, port=int(port) if port else None, user=user)

    # ---- connection -------------------------------------------------------------------
    def _open_sock(self, hop: _Hop, via: _Transport | None):
        if via is not None:
            try:
                return via.open_channel("direct-tcpip", (hop.hostname, hop.port), ("127.0.0.1", 0),
                                        timeout=self.connect_timeout)
            except (paramiko.SSHException, OSError) as e:
                raise ConnectError(_("{host}: the jump host cannot open a connection to "
                                     "{address}: {reason}").format(host=hop.label, address=hop.addr,
                                                                   reason=e)) from e
        try:
            sock = socket.create_connection((hop.hostname, hop.port), timeout=self.connect_timeout)
        except socket.gaierror as e:
            raise ConnectError(_("{host}: cannot resolve host name {name} ({reason})").format(
                host=hop.label, name=repr(hop.hostname), reason=e.strerror)) from e
        except ConnectionRefusedError as e:
            raise ConnectError(_("{host}: connection refused (is sshd running on port {port}?)")
                               .format(host=hop.label, port=hop.port)) from e
        except (socket.timeout, TimeoutError) as e:
            raise ConnectError(_("{host}: no answer within {seconds} s (host down or port {port} "
                                 "filtered)").format(host=hop.label, seconds=f"{self.connect_timeout:g}",
                                                     port=hop.port)) from e
        except OSError as e:
            hint = " " + _("(host down or network unreachable)") if e.errno in (113, 101) else ""
            raise ConnectError(_("{host}: cannot connect: {reason}").format(
                host=hop.label, reason=e.strerror or e) + hint) from e
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        return sock

    def _accepted_fingerprints(self) -> set[str]:
        a = self.accept_fingerprint
        if a is None:
            return set()
        return {a} if isinstance(a, str) else set(a)

    def _known_hosts(self, hop: _Hop) -> hostkeys.KnownHosts:
        if hop.known_hosts is not None:
            files = hop.known_hosts
        elif self.known_hosts_paths is not None:
            files = list(self.known_hosts_paths)
        else:
            files = ["~/.ssh/known_hosts", "/etc/ssh/ssh_known_hosts"]
        return hostkeys.KnownHosts(files, self.tool_known_hosts)

    def _handshake(self, sock, hop: _Hop) -> _Transport:
        """Key exchange and host key check; nothing secret has been sent when this raises."""
        t = _Transport(sock)
        t.label = hop.label
        t.banner_timeout = self.connect_timeout
        t.auth_timeout = max(self.connect_timeout, 15)   # password hashing can be slow
        known = self._known_hosts(hop)
        names = [hop.host_key_alias or hostkeys.host_entry_name(hop.hostname, hop.port)]
        opts = t.get_security_options()
        opts.key_types = hostkeys.preferred_host_key_algorithms(known.known_types(names),
                                                                tuple(opts.key_types))
        try:
            t.start_client(timeout=self.connect_timeout + 5)
        except paramiko.ssh_exception.IncompatiblePeer as e:
            t.close()
            raise ConnectError(_("{host}: no common SSH algorithms with the server ({reason})")
                               .format(host=hop.label, reason=e)) from e
        except (paramiko.SSHException, EOFError, OSError) as e:
            t.close()
            if "banner" in str(e):
                raise ConnectError(_("{host}: no SSH greeting from the server within {seconds} s "
                                     "(is sshd listening there?)").format(
                    host=hop.label, seconds=f"{self.connect_timeout:g}")) from e
            raise ConnectError(_("{host}: SSH handshake failed: {reason}").format(
                host=hop.label, reason=e or type(e).__name__)) from e
        key = t.get_remote_server_key()
        fp = hostkeys.fingerprint(key)
        verdict = known.check(names, key)
        if verdict.status == "known":
            pass
        elif verdict.status in ("changed", "revoked"):
            t.close()
            e = verdict.entry
            if verdict.status == "revoked":
                msg = _("the host key of {host} ({type} {fingerprint}) is marked @revoked in "
                        "{file} line {line}: refusing to connect").format(
                    host=hop.label, type=key.get_name(), fingerprint=fp, file=e.path, line=e.lineno)
            else:
                msg = _("the host key of {host} changed: the server now shows {type} {fingerprint}, "
                        "but {file} line {line} holds a different key. This is a possible "
                        "man-in-the-middle attack (someone intercepting the connection). If the "
                        "server was reinstalled, remove the old key from {file} line {line} "
                        "({command}) and connect again.").format(
                    host=hop.label, type=key.get_name(), fingerprint=fp, file=e.path, line=e.lineno,
                    command=f"ssh-keygen -R '{names[0]}' -f {e.path}")
            err = HostKeyError(msg, host=hop.hostname, fingerprint=fp, changed=True)
            err.key_type, err.port, err.known_hosts_file, err.known_hosts_line = (
                key.get_name(), hop.port, e.path, e.lineno)
            raise err
        else:
            accepted = self._accepted_fingerprints()
            err = None
            if fp not in accepted:
                other = ""
                if verdict.other_types:
                    o = verdict.other_types[0]
                    other = " " + _("(a key of another type, {type}, is on record in {file} line "
                                    "{line})").format(type=o.key_type, file=o.path, line=o.lineno)
                msg = _("{host}: unknown host key {type} {fingerprint}{other}. Compare it with "
                        "the server's own (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub on its console) "
                        "and accept it only if they match.").format(
                    host=hop.label, type=key.get_name(), fingerprint=fp, other=other)
                if accepted:
                    msg += " " + _("The fingerprint given to accept ({fingerprints}) does not match."
                                   ).format(fingerprints=", ".join(sorted(accepted)))
                err = HostKeyError(msg, host=hop.hostname, fingerprint=fp, changed=False)
                err.key_type, err.port = key.get_name(), hop.port
                # asked now, hop by hop, like ssh does: a jump host and its target with unknown
                # keys take one run; nothing was sent to this host yet
                if self.trust_host_key is None or not self.trust_host_key(err):
                    t.close()
                    raise err
            path = known.add(names[0], key)
            log.warning("%s: accepted host key %s %s (saved to %s)", hop.label, key.get_name(), fp, path)
        t._chatwizard_fp = fp
        return t

    @staticmethod
    def _kex_name(t: _Transport) -> str | None:
        offer = t.server_offer or {}
        for k in t.preferred_kex:
            if k in offer.get("kex", ()):
                return k
        return None

    def _log_negotiated(self, hop: _Hop) -> None:
        t = self._t
        offer = t.server_offer or {}
        n = self._negotiated
        n.update(
            kex=self._kex_name(t),
            host_key_type=t.host_key_type,
            cipher=t.local_cipher,
            cipher_s2c=t.remote_cipher,
            mac=t.local_mac,
            mac_s2c=t.remote_mac,
            compression=t.local_compression,
            server_version=t.remote_version,
            host_key_fingerprint=getattr(t, "_chatwizard_fp", None),
            pubkey_algorithm=getattr(t, "_agreed_pubkey_algorithm", None) if n.get("auth") == "publickey" else None,
            server_offer=offer,
        )
        log.info("%s: kex %s, host key %s, cipher %s, mac %s, login %s%s", hop.label, n["kex"],
                 n["host_key_type"], n["cipher"], n["mac"], n["auth"],
                 f" ({n['pubkey_algorithm']})" if n["pubkey_algorithm"] else "")
        sha1 = []
        what = {"kex": "key exchange", "host_key": "host key signature", "mac": "MAC",
                "pubkey": "user key signature"}
        chosen = {"kex": n["kex"], "host_key": n["host_key_type"], "mac": n["mac"],
                  "pubkey": n["pubkey_algorithm"]}
        ours = {"kex": t.preferred_kex, "host_key": t.preferred_keys, "mac": t.preferred_macs}
        for kind, algo in chosen.items():
            if not _is_sha1(kind, algo):
                continue
            sha1.append(algo)
            if kind == "pubkey":
                why = "the server does not accept rsa-sha2-256/512 signatures"
            else:
                newer = [a for a in offer.get(kind, ()) if a in ours[kind] and not _is_sha1(kind, a)
                         and not a.endswith("-cert-v01@openssh.com")]
                why = ("the server offers nothing newer" if not newer
                       else f"chosen although the server also offers {', '.join(newer)}")
            log.warning("host %s: SHA-1 %s %s used: %s", self.spec.name, what[kind], algo, why)
        n["sha1"] = sha1

