"""Secrets in a keyring (service "chatwizard"), never in the answers file or on a command line.

Where they live is chosen by `configure_backend(mode)`, mode from `--keyring` or the env
variable CHATWIZARD_KEYRING (docs/answers-format.md, "Secrets"):

- auto (default): the system keyring (Secret Service, KWallet, macOS, Windows); when there
  is none, the encrypted keyring file if one was made earlier; else an error that says how
  to choose. keyring's own fallback on a headless Linux with keyrings.alt installed is
  keyrings.alt's *plaintext* file: it is never chosen here, whatever its priority.
- system: the system keyring only.
- file: `EncryptedFileKeyring`, an AES-256-GCM file whose key is derived (scrypt) from a
  master password, read from CHATWIZARD_KEYRING_PASSWORD or asked on the terminal.
- prompt: nothing stored; each secret is asked for once per run and kept in memory.
- training (for the simulated host only, not a --keyring choice): nothing stored, nothing
  asked; every secret is TRAINING_SECRET unless set in this run.

Every value fetched is registered with `masking` before it is returned.
"""
from __future__ import annotations

import argparse
import contextlib
import getpass
import os
import re
import sys
from pathlib import Path
from typing import Callable, TextIO

import keyring.backend
import keyring.core
import keyring.errors
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null
from keyring.compat import properties

from . import masking
from .i18n import _, ngettext
from .errors import EXIT_ANSWERS, EXIT_OK, EXIT_SECRETS, EXIT_USAGE, AnswersError, SecretError

SERVICE = "chatwizard"
REF_PREFIX = "keyring:"
KEY_RE = re.compile(r"^[A-Za-z0-9_./@:-]+$")
MODES = ("auto", "system", "file", "prompt")        # what --keyring / CHATWIZARD_KEYRING take
TRAINING_SECRET = "training-only-secret"            # every secret in training mode
ENV_MODE = "CHATWIZARD_KEYRING"
ENV_PASSWORD = "CHATWIZARD_KEYRING_PASSWORD"
ENV_FILE = "CHATWIZARD_KEYRING_FILE"
DOC = 'docs/answers-format.md, "Secrets"'

# ask(key, keypath) -> the secret, or None when the person gave none
Ask = Callable[[str, "str | None"], "str | None"]


def key_of(ref_or_key: str) -> str:
    """"keyring:db/root" or "db/root" -> "db/root"; SecretError when it is not a key."""
    key = ref_or_key[len(REF_PREFIX):] if ref_or_key.startswith(REF_PREFIX) else ref_or_key
    if not KEY_RE.match(key):
        raise SecretError(_("{key} is not a keyring key: use letters, digits and _ . / @ : -").format(
            key=repr(key)))
    return key


def default_file() -> Path:
    """Where the encrypted keyring file lives: $CHATWIZARD_KEYRING_FILE, else the user data dir."""
    if os.environ.get(ENV_FILE):
        return Path(os.environ[ENV_FILE]).expanduser()
    import platformdirs
    return Path(platformdirs.user_data_dir("chatwizard")) / "keyring.json"


def _interactive() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (ValueError, OSError):
        return False


from .file_keyring import EncryptedFileKeyring  # noqa: E402,F401 - the file backend, re-exported

# ---------------------------------------------------------------- prompt mode

class PromptKeyring(KeyringBackend):
    """No storage: each secret is asked for once per run and kept in this process only."""

    @properties.classproperty
    def priority(cls) -> float:
        raise RuntimeError("prompt mode is chosen only explicitly (CHATWIZARD_KEYRING=prompt)")

    def __init__(self, ask: Ask | None = None):
        super().__init__()
        self._ask = ask
        self._values: dict[tuple[str, str], str] = {}

    def __str__(self) -> str:
        return _("no keyring: each secret is asked for at each run and kept in memory only")

    __repr__ = __str__

    def ask(self, service: str, key: str, keypath: str | None = None) -> str | None:
        if (service, key) in self._values:
            return self._values[(service, key)]
        value = None
        if self._ask is not None:
            value = self._ask(key, keypath)
        elif _interactive():
            value = getpass.getpass((_("Secret {key} ({keypath}): ") if keypath else _("Secret {key}: "))
                                    .format(key=key, keypath=keypath))
        if value:
            self._values[(service, key)] = value
        return value or None

    def get_password(self, service: str, username: str) -> str | None:
        return self.ask(service, username)

    def set_password(self, service: str, username: str, password: str) -> None:
        self._values[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self._values.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError(_("{key} was not given in this run").format(
                key=repr(username)))


class TrainingKeyring(PromptKeyring):
    """Training mode: the simulated host needs no real secret; nothing is asked or stored."""

    def __init__(self):
        super().__init__(ask=lambda key, keypath: TRAINING_SECRET)

    def __str__(self) -> str:
        return _("training keyring: made-up secrets, kept in memory only")

    __repr__ = __str__


# ---------------------------------------------------------------- choosing the backend

_backend: KeyringBackend | None = None


def _refusal(b: KeyringBackend) -> str | None:
    """Why a backend keyring offers is not used automatically, or None when it is fine."""
    if isinstance(b, (fail.Keyring, null.Keyring)):
        return _("no keyring")
    if isinstance(b, chainer.ChainerBackend):
        return _("a chain of the others")
    if isinstance(b, (EncryptedFileKeyring, PromptKeyring)):
        return _("chosen only explicitly")
    try:
        from keyrings.alt import file_base
        from keyrings.alt.file import PlaintextKeyring
    except ImportError:
        return None
    if isinstance(b, PlaintextKeyring):
        return _("refused: it stores secrets unencrypted")
    if isinstance(b, file_base.Keyring):
        return _("refused: keyrings.alt file keyring (use CHATWIZARD_KEYRING=file)")
    return None


def _name(b: KeyringBackend) -> str:
    return f"{type(b).__module__}.{type(b).__name__}"


def _system_backend() -> tuple[KeyringBackend | None, str]:
    """(the best acceptable system keyring, or None; what was found, for messages)."""
    try:
        explicit = keyring.core.load_env() or keyring.core.load_config()
    except Exception as e:           # a bad PYTHON_KEYRING_BACKEND / keyringrc.cfg
        return None, _("the keyring configured for Python cannot be loaded ({reason})").format(reason=e)
    if explicit is not None:
        why = _refusal(explicit)
        return ((None, _("{backend}, configured for Python ({why})").format(backend=_name(explicit), why=why))
                if why else (explicit, ""))
    found, best = [], None
    for b in keyring.backend.get_all_keyring():
        why = _refusal(b)
        if why:
            found.append(f"{_name(b)} ({why})")
            continue
        try:
            prio = b.priority
        except Exception:
            continue
        if prio > 0 and (best is None or prio > best.priority):
            best = b
    return best, ", ".join(sorted(found)) or _("nothing")


def _no_keyring(found: str, mode: str) -> SecretError:
    first = (_("No usable system keyring on this machine (a headless Linux has no Secret Service); "
               "found: {found}.") if mode == "system" else
             _("No usable keyring on this machine (a headless Linux has no Secret Service); "
               "found: {found}.")).format(found=found)
    return SecretError(
        first + "\n" + _("Choose one explicitly:") + "\n"
        "  CHATWIZARD_KEYRING=file   (or --keyring file): "
        + _("an encrypted file, {path}; its master password comes from {variable} or a prompt").format(
            path=default_file(), variable=ENV_PASSWORD) + "\n"
        "  CHATWIZARD_KEYRING=prompt (or --keyring prompt): "
        + _("each secret is asked for at each run and kept in memory only") + f"\n({DOC})")


def select_backend(mode: str | None = None, *, master_password: str | None = None,
                   ask: Ask | None = None) -> KeyringBackend:
    """The backend `mode` means (None: $CHATWIZARD_KEYRING, else auto), without making it current."""
    mode = (mode or os.environ.get(ENV_MODE) or "auto").strip().lower()
    if mode == "training":
        return TrainingKeyring()
    if mode not in MODES:
        raise SecretError(_("unknown keyring mode {mode}: use one of {modes} ({doc})").format(
            mode=repr(mode), modes=", ".join(MODES), doc=DOC))
    if mode == "file":
        return EncryptedFileKeyring(password=master_password,
                                    ask=(lambda prompt: ask(prompt, None)) if ask else None)
    if mode == "prompt":
        return PromptKeyring(ask)
    b, found = _system_backend()
    if b is not None:
        return b
    if mode == "auto" and default_file().exists():      # made earlier with CHATWIZARD_KEYRING=file
        return EncryptedFileKeyring(password=master_password,
                                    ask=(lambda prompt: ask(prompt, None)) if ask else None)
    raise _no_keyring(found, mode)


def configure_backend(mode: str | None = None, *, master_password: str | None = None,
                      ask: Ask | None = None) -> KeyringBackend:
    """Choose where secrets live for this process: None/"auto", "system", "file", "prompt"
    (or "training", for the simulated host).
    `master_password` (file mode) and `ask(key, keypath)` (prompt mode, and the file's master
    password) let a UI supply what would otherwise be asked on the terminal."""
    global _backend
    _backend = select_backend(mode, master_password=master_password, ask=ask)
    return _backend


def reset_backend() -> None:
    """Forget the chosen backend (the next use chooses again from the environment)."""
    global _backend
    _backend = None


def _current() -> KeyringBackend:
    return _backend if _backend is not None else configure_backend(None)


def describe(b: KeyringBackend | None = None) -> str:
    """The backend in words, for status lines and messages."""
    b = b or _current()
    if isinstance(b, (EncryptedFileKeyring, PromptKeyring)):
        return str(b)
    return _("system keyring {name}").format(name=_name(b))


def backend_status() -> tuple[bool, str]:
    """(usable, description) of the current backend, or of the one the environment selects."""
    try:
        return True, describe(_current())
    except SecretError as e:
        return False, str(e)


# ---------------------------------------------------------------- get / set / delete

def get(ref_or_key: str, *, keypath: str | None = None) -> str:
    """The secret for "keyring:<key>" or "<key>", registered with masking. SecretError
    (naming the key, the answers key path and the command that stores it) when missing."""
    key = key_of(ref_or_key)
    b = _current()
    try:
        value = b.ask(SERVICE, key, keypath) if isinstance(b, PromptKeyring) else b.get_password(SERVICE, key)
    except SecretError:
        raise
    except Exception as e:              # locked keyring, D-Bus trouble: never a traceback
        raise SecretError(masking.mask(_("cannot read {key} from the {keyring}: {reason}").format(
            key=repr(key), keyring=describe(b), reason=e))) from None
    if not value:
        where = f" ({keypath})" if keypath else ""
        if isinstance(b, PromptKeyring):
            raise SecretError(_("secret {key}{where} was not given: prompt mode asks on a terminal "
                                "({doc})").format(key=repr(key), where=where, doc=DOC))
        raise SecretError(_("secret {key}{where} is not in the {keyring}; store it with: "
                            "chatwizard secret set {name}").format(
            key=repr(key), where=where, keyring=describe(b), name=key))
    masking.register(value)
    return value


def set(key: str, value: str) -> None:  # noqa: A001 - the verb the CLI uses
    """Store a secret under `key` (a "keyring:" prefix is accepted)."""
    key = key_of(key)
    if not value:
        raise SecretError(_("refusing to store an empty secret for {key}").format(key=repr(key)))
    masking.register(value)
    b = _current()
    try:
        b.set_password(SERVICE, key, value)
    except SecretError:
        raise
    except Exception as e:
        raise SecretError(masking.mask(_("cannot store {key} in the {keyring}: {reason}").format(
            key=repr(key), keyring=describe(b), reason=e))) from None


def delete(key: str) -> None:
    """Remove a secret; SecretError when it is not there."""
    key = key_of(key)
    b = _current()
    try:
        b.delete_password(SERVICE, key)
    except keyring.errors.PasswordDeleteError:
        raise SecretError(_("secret {key} is not in the {keyring}").format(
            key=repr(key), keyring=describe(b))) from None
    except SecretError:
        raise
    except Exception as e:
        raise SecretError(_("cannot delete {key} from the {keyring}: {reason}").format(
            key=repr(key), keyring=describe(b), reason=e)) from None


def resolve_all(answers) -> dict[str, str]:
    """{ref: value} of every secret the answers need, fetched up-front; one SecretError
    listing every missing one, before anything connects."""
    _current()                               # no usable keyring: one message, not one per key
    by_ref: dict[str, list[str]] = {}
    for kp, ref in answers.secret_refs().items():
        by_ref.setdefault(ref, []).append(kp)
    out: dict[str, str] = {}
    problems: list[str] = []
    for ref, kps in by_ref.items():
        try:
            out[ref] = get(ref, keypath=", ".join(kps))
        except SecretError as e:
            problems.append(str(e))
    if problems:
        raise SecretError("\n".join(problems))
    return out


# ---------------------------------------------------------------- `chatwizard secret`

def _parser() -> argparse.ArgumentParser:
    from . import argparse_texts
    argparse_texts.install()
    p = argparse.ArgumentParser(prog="chatwizard secret", description=_(
        "Secrets for the answers file's keyring:<key> references. Values are read without "
        "echo on a terminal, else from standard input; they are never printed."))
    p.add_argument("--keyring", choices=MODES, help=_("where secrets live (default: {variable}, else "
                                                      "auto)").format(variable="$" + ENV_MODE))
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("set", help=_("store a secret (asked without echo, or read from stdin)"))
    s.add_argument("key", help=_('e.g. db/root (or "keyring:db/root")'))
    d = sub.add_parser("delete", help=_("remove a secret"))
    d.add_argument("key")
    sub.add_parser("status", help=_("which keyring is used"))
    c = sub.add_parser("check", help=_("are all secrets an answers file needs there? (values never shown)"))
    c.add_argument("answers", help=_("the answers file"))
    return p


def _read_value(key: str, stdin: TextIO) -> str:
    if stdin is sys.stdin and _interactive():
        value = getpass.getpass(_("Secret for {key} (not shown): ").format(key=key))
        if value and getpass.getpass(_("Again: ")) != value:
            raise SecretError(_("the two entries differ; nothing was stored"))
    else:
        value = stdin.read()
        value = value[:-1] if value.endswith("\n") else value
        value = value[:-1] if value.endswith("\r") else value
        if "\n" in value:
            raise SecretError(_("standard input holds more than one line; a secret is one line"))
    if not value:
        raise SecretError(_("no value given for {key}; nothing was stored").format(key=repr(key)))
    return value


def secret_command(argv: list[str], *, stdin: TextIO | None = None, stdout: TextIO | None = None,
                   stderr: TextIO | None = None) -> int:
    """`chatwizard secret set|delete|status|check ...`; returns the exit code."""
    stdin, stdout, stderr = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            args = _parser().parse_args(argv)
    except SystemExit as e:
        return EXIT_OK if e.code in (0, None) else EXIT_USAGE
    try:
        if args.keyring:
            configure_backend(args.keyring)
        if args.cmd == "status":
            ok, text = backend_status()
            print(text, file=stdout if ok else stderr)
            return EXIT_OK if ok else EXIT_SECRETS
        if args.cmd == "set":
            key = key_of(args.key)
            if isinstance(_current(), PromptKeyring):
                raise SecretError(_("{keyring}: nothing to store in; choose --keyring system or file")
                                  .format(keyring=describe()))
            set(key, _read_value(key, stdin))
            print(_("stored {key} in the {keyring}").format(key=key, keyring=describe()), file=stdout)
        elif args.cmd == "delete":
            key = key_of(args.key)
            delete(key)
            print(_("deleted {key} from the {keyring}").format(key=key, keyring=describe()), file=stdout)
        elif args.cmd == "check":
            from . import answers as answers_mod
            try:
                a = answers_mod.load(args.answers)
            except AnswersError as e:
                print(e, file=stderr)
                return EXIT_ANSWERS
            found = resolve_all(a)
            print(ngettext("the {n} secret {file} needs is in the {keyring}",
                           "all {n} secrets {file} needs are in the {keyring}", len(found)).format(
                n=len(found), file=args.answers, keyring=describe()), file=stdout)
        return EXIT_OK
    except SecretError as e:
        print(masking.mask(str(e)), file=stderr)
        return EXIT_SECRETS
