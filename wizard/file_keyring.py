"""The encrypted file keyring: AES-256-GCM, key derived with scrypt from a master password
(kept apart from wizard.secrets, which chooses the backend)."""
from __future__ import annotations

import base64
import contextlib
import fcntl
import getpass
import json
import os
import tempfile
from pathlib import Path
from typing import Callable

import keyring.errors
from keyring.backend import KeyringBackend
from keyring.compat import properties

from . import masking
from .errors import SecretError
from .i18n import _

SERVICE = "chatwizard"
ENV_PASSWORD = "CHATWIZARD_KEYRING_PASSWORD"
DOC = 'docs/answers-format.md, "Secrets"'


def default_file() -> Path:
    from .secrets import default_file as f
    return f()


def _interactive() -> bool:
    from .secrets import _interactive as i
    return i()


# ---------------------------------------------------------------- the encrypted file

class EncryptedFileKeyring(KeyringBackend):
    """A keyring file encrypted with AES-256-GCM under a scrypt key from a master password.

    Never viable for keyring's own discovery (its priority raises): chosen only by
    `configure_backend("file")`. The file is JSON, mode 0600, replaced atomically; the key
    names are readable in it, the values are not.
    """

    SCHEME = "scrypt/AES-256-GCM"
    # OWASP's scrypt recommendation (Password Storage Cheat Sheet): N=2^17, r=8, p=1 (128 MiB).
    # The cost is stored in each file, so files made at the former N=2^15 still open; the
    # next write re-encrypts such a file at this cost.
    KDF = {"n": 2 ** 17, "r": 8, "p": 1}
    KDF_LIMITS = {"n": 2 ** 20, "r": 32, "p": 16}     # a file asking for more is refused
    CHECK = b"chatwizard keyring"

    @properties.classproperty
    def priority(cls) -> float:
        raise RuntimeError("chatwizard's encrypted file keyring is chosen only explicitly "
                           "(CHATWIZARD_KEYRING=file)")

    def __init__(self, path: str | os.PathLike | None = None, password: str | None = None,
                 *, ask: Callable[[str], str | None] | None = None):
        """`password` else $CHATWIZARD_KEYRING_PASSWORD else `ask(prompt)` else getpass on a tty."""
        super().__init__()
        self.path = Path(path) if path is not None else default_file()
        self._password = password
        self._ask = ask
        self._key: bytes | None = None

    def __str__(self) -> str:
        return _("encrypted keyring file {path}").format(path=self.path)

    __repr__ = __str__

    # -- the master key
    def _master_password(self, creating: bool) -> str:
        pw = self._password or os.environ.get(ENV_PASSWORD)
        if not pw and self._ask is not None:
            pw = self._ask(_("Master password for {path}: ").format(path=self.path))
        # with an ask callback (the TUI) the terminal belongs to the app: never getpass there
        if not pw and self._ask is None and _interactive():
            pw = getpass.getpass(_("Master password for the keyring file {path}: ").format(path=self.path))
            if creating and pw and getpass.getpass(_("The same master password again: ")) != pw:
                raise SecretError(_("the two master passwords differ; nothing was stored"))
        if not pw:
            raise SecretError(_("the keyring file {path} needs its master password: set {variable} "
                                "or run in a terminal ({doc})").format(
                path=self.path, variable=ENV_PASSWORD, doc=DOC))
        masking.register(pw)
        return pw

    def _derive(self, password: str, kdf: dict) -> bytes:
        from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
        for k, limit in self.KDF_LIMITS.items():
            if not isinstance(kdf.get(k), int) or not 1 <= kdf[k] <= limit:
                raise SecretError(_("{path}: scrypt parameter {name}={value} is not a cost this "
                                    "wizard accepts (1..{limit})").format(
                    path=self.path, name=k, value=repr(kdf.get(k)), limit=limit))
        return Scrypt(salt=_b64d(kdf["salt"]), length=32, n=kdf["n"], r=kdf["r"],
                      p=kdf["p"]).derive(password.encode("utf-8"))

    def _unlocked(self, doc: dict) -> bytes:
        if self._key is None:
            from cryptography.exceptions import InvalidTag
            key = self._derive(self._master_password(creating=False), doc["kdf"])
            try:
                self._open(key, doc["check"], b"check")
            except InvalidTag:
                raise SecretError(_("wrong master password for the keyring file {path}").format(
                    path=self.path)) from None
            self._key = key
        return self._key

    # -- the file
    def _read(self) -> dict | None:
        try:
            doc = json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as e:
            raise SecretError(_("cannot read the keyring file {path}: {reason}").format(
                path=self.path, reason=e)) from None
        if not isinstance(doc, dict) or doc.get("scheme") != self.SCHEME:
            raise SecretError(_("{path} is not a chatwizard keyring file ({scheme})").format(
                path=self.path, scheme=self.SCHEME))
        return doc

    def _new(self) -> dict:
        kdf = dict(self.KDF, salt=_b64e(os.urandom(16)))
        key = self._derive(self._master_password(creating=True), kdf)
        self._key = key
        return {"scheme": self.SCHEME, "kdf": kdf, "check": self._seal(key, self.CHECK, b"check"),
                "entries": {}}

    def _write(self, doc: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(doc, f, indent=1, sort_keys=True)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    @contextlib.contextmanager
    def _locked(self):
        """Serialise read-modify-write between processes."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    @staticmethod
    def _seal(key: bytes, data: bytes, aad: bytes) -> dict:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        nonce = os.urandom(12)
        return {"nonce": _b64e(nonce), "ct": _b64e(AESGCM(key).encrypt(nonce, data, aad))}

    @staticmethod
    def _open(key: bytes, box: dict, aad: bytes) -> bytes:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        return AESGCM(key).decrypt(_b64d(box["nonce"]), _b64d(box["ct"]), aad)

    # -- KeyringBackend
    def get_password(self, service: str, username: str) -> str | None:
        doc = self._read()
        box = (doc or {}).get("entries", {}).get(service, {}).get(username)
        if box is None:
            return None
        from cryptography.exceptions import InvalidTag
        try:
            return self._open(self._unlocked(doc), box, _aad(service, username)).decode("utf-8")
        except InvalidTag:
            raise SecretError(_("the keyring file {path} holds a damaged entry for {key}; set it "
                                "again").format(path=self.path, key=repr(username))) from None

    def set_password(self, service: str, username: str, password: str) -> None:
        with self._locked():
            doc = self._read()
            if doc is None:
                doc = self._new()
            key = self._unlocked(doc)
            if any(doc["kdf"].get(k, 0) < v for k, v in self.KDF.items()):
                doc, key = self._upgraded(doc, key)
            doc["entries"].setdefault(service, {})[username] = self._seal(
                key, password.encode("utf-8"), _aad(service, username))
            self._write(doc)

    def _upgraded(self, doc: dict, old_key: bytes) -> tuple[dict, bytes]:
        """`doc` re-encrypted under a key derived at today's cost (a new salt, same master
        password), and that key."""
        kdf = dict(self.KDF, salt=_b64e(os.urandom(16)))
        key = self._derive(self._master_password(creating=False), kdf)
        entries = {svc: {user: self._seal(key, self._open(old_key, box, _aad(svc, user)), _aad(svc, user))
                         for user, box in users.items()}
                   for svc, users in doc.get("entries", {}).items()}
        self._key = key
        return dict(doc, kdf=kdf, check=self._seal(key, self.CHECK, b"check"), entries=entries), key

    def delete_password(self, service: str, username: str) -> None:
        with self._locked():
            doc = self._read()
            entries = (doc or {}).get("entries", {}).get(service, {})
            if username not in entries:
                raise keyring.errors.PasswordDeleteError(_("{key} is not in {path}").format(
                    key=repr(username), path=self.path))
            self._unlocked(doc)             # only the master password may delete
            del entries[username]
            self._write(doc)


def _aad(service: str, key: str) -> bytes:
    return f"{service}\0{key}".encode("utf-8")


def _b64e(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def _b64d(s: str) -> bytes:
    return base64.b64decode(s.encode("ascii"))


