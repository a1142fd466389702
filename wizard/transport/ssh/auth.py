"""Logging in: the login/sudo password from the provider handed in by the caller, key
candidates (IdentityFiles, default keys, agent), RSA signatures on legacy servers (ssh-rsa
when the server takes no rsa-sha2), password and keyboard-interactive.
A mixin of SSHTransport."""
from __future__ import annotations

import logging
import os
import threading

import paramiko

from wizard.errors import ConnectError
from wizard.i18n import _
from wizard.masking import mask, register
from wizard.transport.ssh.connect import _LEGACY_HOSTKEY_ALGOS, _Hop, _is_sha1
from wizard.transport.ssh.liveness import _Transport

log = logging.getLogger("wizard.transport")

_RSA_SHA2 = ["rsa-sha2-512", "rsa-sha2-256"]

# Loading a private key file is slow for RSA (cryptography checks the key: ~90 ms for 2048
# bits), and a site's hosts usually share one key: each file is loaded once per process, and
# again only when it changes (inode, size, mtime). Threads connecting at once wait for the
# one that loads it. A failure is not kept (the next connection tries again and says why).
_keys: dict[str, tuple[tuple, paramiko.PKey]] = {}
_keys_lock = threading.Lock()
_key_locks: dict[str, threading.Lock] = {}


def load_key(path: str) -> paramiko.PKey:
    """paramiko.PKey.from_path(path), loaded once while the file stays the same."""
    st = os.stat(path)
    stamp = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    with _keys_lock:
        lock = _key_locks.setdefault(path, threading.Lock())
    with lock:
        cached = _keys.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        key = paramiko.PKey.from_path(path)
        _keys[path] = (stamp, key)
        return key


class _Authenticating:
    """Login on one hop (mixed into SSHTransport)."""

    def _password(self) -> str | None:
        """The password for spec.password_ref from the caller's password_provider (asked
        once, registered for masking); None when there is no reference or no provider."""
        if not self._password_fetched:
            self._password_fetched = True
            ref = self.spec.password_ref
            if ref:
                provider = self._password_provider
                if provider is None:
                    log.warning("%s: password %s is needed but no password provider was given",
                                self.label, ref)
                    return None
                self._password_cache = provider(ref)
                register(self._password_cache)
        return self._password_cache

    def _key_candidates(self, hop: _Hop):
        """(description, key) pairs to try in order: IdentityFiles, default keys, agent."""
        files = list(hop.key_files)
        if not files:
            files = [os.path.expanduser(f"~/.ssh/{n}") for n in ("id_ed25519", "id_ecdsa", "id_rsa")]
            files = [f for f in files if os.path.exists(f)]
        for path in files:
            try:
                yield f"key {path}", load_key(path)
            except FileNotFoundError:
                log.warning("%s: IdentityFile %s does not exist", hop.label, path)
            except paramiko.PasswordRequiredException:
                log.warning("%s: key %s has a passphrase; load it into ssh-agent to use it",
                            hop.label, path)
            except Exception as e:
                log.warning("%s: cannot load key %s: %s", hop.label, path, e)
        if self.allow_agent and not hop.identities_only:
            try:
                agent = paramiko.Agent()
                keys = agent.get_keys()
            except Exception as e:
                log.debug("ssh agent unusable: %s", e)
                keys = ()
            for i, k in enumerate(keys):
                yield _("agent key {n} ({type})").format(n=i + 1, type=k.get_name()), k

    def _legacy_server(self, t: _Transport) -> bool:
        kex = self._kex_name(t)
        return (t.host_key_type in _LEGACY_HOSTKEY_ALGOS or _is_sha1("kex", kex)
                or "server-sig-algs" not in t.server_extensions)

    def _auth_key(self, t: _Transport, user: str, key, hop: _Hop) -> bool:
        rsa = key.get_name() == "ssh-rsa"
        if (rsa and "server-sig-algs" not in t.server_extensions
                and t.host_key_type in _LEGACY_HOSTKEY_ALGOS):
            # OpenSSH < 7.2 (CentOS 6): no ext-info, verifies only ssh-rsa signatures
            self._disable_rsa_sha2(t, hop, "the server sent no server-sig-algs")
        try:
            t.auth_publickey(user, key)
            return t.is_authenticated()
        except paramiko.BadAuthenticationType:
            raise
        except paramiko.AuthenticationException:
            agreed = getattr(t, "_agreed_pubkey_algorithm", None)
            if rsa and agreed in _RSA_SHA2 and self._legacy_server(t):
                self._disable_rsa_sha2(t, hop, f"the server refused an {agreed} signature")
                try:
                    t.auth_publickey(user, key)
                    return t.is_authenticated()
                except paramiko.AuthenticationException:
                    return False
            return False

    @staticmethod
    def _disable_rsa_sha2(t: _Transport, hop: _Hop, why: str) -> None:
        d = dict(t.disabled_algorithms or {})
        if set(_RSA_SHA2) <= set(d.get("pubkeys", ())):
            return
        d["pubkeys"] = list(d.get("pubkeys", ())) + _RSA_SHA2
        t.disabled_algorithms = d
        log.info("%s: signing the RSA user key with ssh-rsa (SHA-1): %s", hop.label, why)

    def _authenticate(self, t: _Transport, hop: _Hop, *, password_ok: bool) -> None:
        tried: list[str] = []
        method = None
        allowed = None
        try:
            for desc, key in self._key_candidates(hop):
                if allowed is not None and "publickey" not in allowed:
                    break
                tried.append(desc)
                try:
                    if self._auth_key(t, hop.user, key, hop):
                        method = "publickey"
                        break
                except paramiko.BadAuthenticationType as e:
                    allowed = list(e.allowed_types)
            if method is None and password_ok and self.spec.password_ref:
                pw = self._password()
                if pw:
                    if allowed is None or "password" in allowed:
                        tried.append("password")
                        try:
                            t.auth_password(hop.user, pw)
                            method = "password" if t.is_authenticated() else None
                        except paramiko.BadAuthenticationType as e:
                            allowed = list(e.allowed_types)
                        except paramiko.AuthenticationException:
                            pass
                    if method is None and allowed is not None and "keyboard-interactive" in allowed:
                        tried.append("keyboard-interactive")
                        try:
                            t.auth_interactive(hop.user, lambda title, instr, prompts: [pw for _p in prompts])
                            method = "keyboard-interactive" if t.is_authenticated() else None
                        except paramiko.AuthenticationException:
                            pass
        except paramiko.SSHException as e:
            if not isinstance(e, paramiko.AuthenticationException):
                raise ConnectError(mask(_("{host}: connection lost during login: {reason}").format(
                    host=hop.label, reason=e))) from e
        except (EOFError, OSError) as e:
            raise ConnectError(_("{host}: connection lost during login: {reason}").format(
                host=hop.label, reason=e)) from e
        if method is None:
            what = ", ".join(tried) if tried else _("no key, agent key or password was available")
            extra = _("; the server allows: {methods}").format(methods=", ".join(allowed)) if allowed else ""
            t.close()
            raise ConnectError(_("{host}: login as {user} failed (tried: {what})").format(
                host=hop.label, user=hop.user, what=what) + extra)
        if t is self._t:
            self._negotiated = {"auth": method}

