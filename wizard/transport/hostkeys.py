"""Known host keys: OpenSSH-compatible lookup with file and line numbers, and the
tool's own known_hosts file where keys the engineer accepted are saved.

OpenSSH semantics kept: plain, wildcard (``*``/``?``), negated (``!``) and hashed
(``|1|salt|hash``) host patterns; ``[host]:port`` names for ports other than 22;
``@revoked`` lines. ``@cert-authority`` lines are ignored (no host certificates).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from dataclasses import dataclass, field

import paramiko

# host key algorithms paramiko can negotiate for each key type found in known_hosts
_ALGOS_FOR_TYPE = {
    "ssh-rsa": ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"),
    "ssh-ed25519": ("ssh-ed25519",),
    "ecdsa-sha2-nistp256": ("ecdsa-sha2-nistp256",),
    "ecdsa-sha2-nistp384": ("ecdsa-sha2-nistp384",),
    "ecdsa-sha2-nistp521": ("ecdsa-sha2-nistp521",),
}


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH's SHA256 fingerprint: ``SHA256:`` + unpadded base64 of sha256(key blob)."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def host_entry_name(host: str, port: int) -> str:
    """The name known_hosts uses: ``host`` on port 22, else ``[host]:port``."""
    return host if port == 22 else f"[{host}]:{port}"


def default_tool_known_hosts() -> str:
    """``<user data dir of chatwizard>/known_hosts`` (platformdirs)."""
    import platformdirs

    return os.path.join(platformdirs.user_data_dir("chatwizard"), "known_hosts")


@dataclass(frozen=True)
class KnownEntry:
    path: str
    lineno: int
    key_type: str
    blob: bytes
    marker: str | None = None        # "@revoked" / "@cert-authority" / None


@dataclass
class Verdict:
    """Outcome of a host key check."""

    status: str                                  # "known", "unknown", "changed", "revoked"
    entry: KnownEntry | None = None              # the matching (known) or conflicting (changed) line
    other_types: list[KnownEntry] = field(default_factory=list)  # same host, other key types


def _pattern_matches(pattern: str, name: str) -> bool:
    if pattern.startswith("|1|"):
        try:
            _, _, salt, digest = pattern.split("|", 3)
            mac = hmac.new(base64.b64decode(salt), name.encode(), hashlib.sha1).digest()
            return hmac.compare_digest(mac, base64.b64decode(digest))
        except (ValueError, binascii.Error):
            return False
    if "*" not in pattern and "?" not in pattern:
        return name.lower() == pattern.lower()
    # OpenSSH patterns know only * and ?; brackets ([host]:port) are literal
    rx = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern.lower())
    return re.fullmatch(rx, name.lower()) is not None


def _line_matches(patterns: str, names: list[str]) -> bool:
    hit = False
    for pat in patterns.split(","):
        if not pat:
            continue
        negated = pat.startswith("!")
        if negated:
            pat = pat[1:]
        if any(_pattern_matches(pat, n) for n in names):
            if negated:
                return False
            hit = True
    return hit


class KnownHosts:
    """Read-only view over several known_hosts files, plus one writable (the tool's own)."""

    def __init__(self, paths: list[str], tool_path: str):
        self.paths = [os.path.expanduser(p) for p in paths]
        self.tool_path = os.path.expanduser(tool_path)
        if self.tool_path not in self.paths:
            self.paths.append(self.tool_path)

    def entries(self, names: list[str]) -> list[KnownEntry]:
        """All lines (in file order) whose host patterns match any of `names`."""
        found = []
        for path in self.paths:
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    lines = f.read().splitlines()
            except OSError:
                continue
            for lineno, line in enumerate(lines, 1):
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                fields = line.split()
                marker = None
                if fields[0].startswith("@"):
                    marker, fields = fields[0], fields[1:]
                if len(fields) < 3 or not _line_matches(fields[0], names):
                    continue
                try:
                    blob = base64.b64decode(fields[2], validate=True)
                except (binascii.Error, ValueError):
                    continue
                found.append(KnownEntry(path, lineno, fields[1], blob, marker))
        return found

    def known_types(self, names: list[str]) -> list[str]:
        """Key types on record for these names, in file order, without duplicates."""
        seen: list[str] = []
        for e in self.entries(names):
            if e.marker is None and e.key_type not in seen:
                seen.append(e.key_type)
        return seen

    def check(self, names: list[str], key: paramiko.PKey) -> Verdict:
        blob, ktype = key.asbytes(), key.get_name()
        entries = self.entries(names)
        for e in entries:
            if e.marker == "@revoked" and e.blob == blob:
                return Verdict("revoked", e)
        plain = [e for e in entries if e.marker is None]
        for e in plain:
            if e.blob == blob:
                return Verdict("known", e)
        for e in plain:
            if e.key_type == ktype:
                return Verdict("changed", e)
        return Verdict("unknown", None, [e for e in plain])

    def add(self, name: str, key: paramiko.PKey) -> str:
        """Append `name keytype base64` to the tool's own file (created 0600, folder 0700)."""
        folder = os.path.dirname(self.tool_path)
        if folder:
            os.makedirs(folder, mode=0o700, exist_ok=True)
        line = f"{name} {key.get_name()} {key.get_base64()}\n"
        fd = os.open(self.tool_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a") as f:
            f.write(line)
        return self.tool_path


def preferred_host_key_algorithms(known_types: list[str], available: tuple[str, ...]) -> tuple[str, ...]:
    """Like OpenSSH: host key algorithms matching keys already on record first, so a
    server with an RSA key on record and a newer ed25519 key is not reported as unknown."""
    first: list[str] = []
    for t in known_types:
        for algo in _ALGOS_FOR_TYPE.get(t, (t,)):
            if algo in available and algo not in first:
                first.append(algo)
    return tuple(first) + tuple(a for a in available if a not in first)
