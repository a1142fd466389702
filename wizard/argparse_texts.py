"""argparse's own words ("usage:", "options", its error texts) in the wizard's languages.

argparse (CPython 3.11) does `from gettext import gettext as _, ngettext` at import and
calls those module-level names at run time, with its English text as msgid. `install()`
points both names at wizard.i18n, so `--help` and argparse's errors follow the current
language; the msgids are listed below with N_() so that scripts/i18n.py extracts them into
the core catalog. They keep argparse's %-placeholders (`%(prog)s`, `%s`, `%r`): a
translation must keep each one (tests/test_i18n_core.py checks it).
"""
from __future__ import annotations

from .i18n import N_, _, ngettext

# argparse 3.11's msgids, in the order of its source (3.12 added none we show).
MESSAGES = (
    N_("usage: "),
    N_("argument %(argument_name)s: %(message)s"),
    N_("conflicting subparser: %s"),
    N_("conflicting subparser alias: %s"),
    N_("unknown parser %(parser_name)r (choices: %(choices)s)"),
    N_('argument "-" with mode %r'),
    N_("can't open '%(filename)s': %(error)s"),
    N_("positional arguments"),
    N_("options"),
    N_("show this help message and exit"),
    N_("subcommands"),
    N_("cannot have multiple subparser arguments"),
    N_("unrecognized arguments: %s"),
    N_("not allowed with argument %s"),
    N_("ignored explicit argument %r"),
    N_("the following arguments are required: %s"),
    N_("one of the arguments %s is required"),
    N_("expected one argument"),
    N_("expected at most one argument"),
    N_("expected at least one argument"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("unexpected option string: %s"),
    N_("invalid %(type)s value: %(value)r"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("%(prog)s: error: %(message)s\n"),
)


def _plural_marks() -> None:         # never called: marks the plural msgids for extraction
    ngettext("expected %s argument", "expected %s arguments", 1)


def _gettext(message):
    return _(message) if message else message          # argparse passes None for "no description"


def install() -> None:
    """Route argparse's gettext calls to wizard.i18n (idempotent)."""
    import argparse
    argparse._ = _gettext
    argparse.ngettext = ngettext
