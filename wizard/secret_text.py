"""Secret-bearing text, masked by construction.

A command or a file that carries a secret is rendered twice from one template: once with
the secret's value (what runs, what is written) and once with `********` where the secret
goes (what the preview, the events and the logs show). What is shown therefore never
depends on searching the text for the secret: a database password `root` or `a` is masked
exactly where it is used and nowhere else (`owner root:root` stays as it is), and a 1–2
character secret is masked where it is used just the same.

    t = render(lambda v: f"mysql -p{v['db']} -u root", db=password)
    t.revealed   # "mysql -proot -u root"       (what runs)
    t.shown      # "mysql -p******** -u root"   (what anyone sees)

How: the template is called with the real values, then with random alphanumeric tokens;
encodings that leave letters and digits alone (percent-encoding, shell backslash escapes,
JSON, XML) carry a token through unchanged, so in the token rendering each token marks
exactly where its secret ended up, whatever encoding it went through. A template that
mangles a token (hashes it, cuts it) is refused: it could not be shown safely.

For text the wizard did not build (a file already on a host holding an old password),
`mask_spans` masks by position: a pattern that finds the field (e.g. the `password=`
value of the connection line), never the secret's value.

The process-wide registry (wizard.masking) stays as a last-resort safety net for logs and
host output only.
"""
from __future__ import annotations

import re
import secrets as _random
from dataclasses import dataclass
from typing import Callable, Mapping

MASK = "********"


@dataclass(frozen=True)
class SecretText:
    """Text in its two forms: `revealed` (runs, is written) and `shown` (is seen)."""

    revealed: str
    shown: str

    def __str__(self) -> str:                # printing one by accident shows the mask
        return self.shown

    def __repr__(self) -> str:
        return f"SecretText(shown={self.shown!r})"

    @classmethod
    def plain(cls, text: str) -> "SecretText":
        """Text without a secret: both forms the same."""
        return cls(text, text)


def render(template: Callable[[Mapping[str, str]], str], **values: str) -> SecretText:
    """`template(values)` and the same with every value masked where it is used."""
    revealed = template(values)
    shown = []
    for edge in ("Q", "X"):        # two token sets that differ at both ends
        tokens = {name: f"{edge}{_random.token_hex(12)}{edge}" for name in values}
        text = template(tokens)
        for token in tokens.values():
            text = text.replace(token, MASK)
        shown.append(text)
    if shown[0] != shown[1]:
        # the template cut, hashed or otherwise transformed a secret: where it went cannot
        # be shown, so it is not built at all
        raise ValueError(f"a secret ({', '.join(values)}) is used in a form that cannot be shown masked")
    return SecretText(revealed, shown[0])


def mask_spans(text: str, pattern: re.Pattern[str] | str, group: int = 1) -> str:
    """`text` with `group` of every match of `pattern` replaced by the mask (empty groups
    stay empty): masking by where a secret stands, not by what it is."""
    rx = re.compile(pattern) if isinstance(pattern, str) else pattern
    out, last = [], 0
    for m in rx.finditer(text):
        s, e = m.span(group)
        if s < 0 or s == e:
            continue
        out += [text[last:s], MASK]
        last = e
    out.append(text[last:])
    return "".join(out)
