"""Extract, update and compile the wizard's gettext catalogs (Babel).

    python scripts/i18n.py update [AREA…]   extract → merge into each .po → compile .mo
    python scripts/i18n.py check  [AREA…]   what tests/test_i18n.py checks, as a list
    python scripts/i18n.py missing AREA LANG   the untranslated msgids, one per line
    python scripts/i18n.py take REF [AREA…]  fill empty translations from the catalogs at git
                                             REF (after a merge: keep ours, take theirs)

Each AREA is one catalog (gettext domain) with the source paths it is extracted from.
English is the msgid itself: its catalog is filled by `update` (msgstr = msgid) so that the
completeness check holds for all three languages alike. A new or changed English message
comes back empty in de/fr (Babel marks a near match `fuzzy`; fuzzy counts as missing).
"""
from __future__ import annotations

import io
import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "wizard" / "locale"
LANGS = ("en", "de", "fr")

# area → (domain, source globs). A file belongs to the first area whose globs match it.
AREAS: dict[str, tuple[str, tuple[str, ...]]] = {
    "tui": ("chatwizard-tui", ("screens/**/*.py",)),
    "steps": ("chatwizard-steps", (
        "wizard/steps/**/*.py", "wizard/preview.py", "wizard/plan.py", "wizard/planner.py",
        "wizard/runner.py", "wizard/report.py", "wizard/verify.py", "wizard/fingerprint.py",
        "wizard/hazelcast_xml.py", "wizard/haproxy_cfg.py", "wizard/initscript.py",
        "wizard/tyntec.py", "wizard/backups.py", "wizard/facts.py")),
    "core": ("chatwizard-core", ("wizard/**/*.py",)),
}
KEYWORDS = {"_": None, "gettext": None, "N_": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2)}
PLACEHOLDER = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)?(?:[!:][^{}]*)?\}(?!\})")


def files_of(area: str) -> list[Path]:
    taken: set[Path] = set()
    for name, (_domain, globs) in AREAS.items():
        mine = sorted({p for g in globs for p in ROOT.glob(g)} - taken)
        if name == area:
            return [p for p in mine if "__pycache__" not in p.parts]
        taken.update(mine)
    raise SystemExit(f"unknown area {area!r}: one of {', '.join(AREAS)}")


def extract(area: str) -> Catalog:
    """The template (.pot) of AREA, freshly extracted from its sources."""
    cat = Catalog(project="chat-role-wizard", domain=AREAS[area][0], charset="utf-8")
    for path in files_of(area):
        rel = path.relative_to(ROOT).as_posix()
        for lineno, message, comments, context in extract_from_file(
                "python", str(path), keywords=KEYWORDS, comment_tags=("i18n:",),
                options={"encoding": "utf-8"}):
            cat.add(message, None, [(rel, lineno)], auto_comments=comments, context=context)
    return cat


def po_path(area: str, lang: str) -> Path:
    return LOCALE / lang / "LC_MESSAGES" / f"{AREAS[area][0]}.po"


def load(path: Path, lang: str) -> Catalog:
    if not path.exists():
        return Catalog(locale=lang, domain=path.stem, charset="utf-8")
    with path.open("rb") as f:
        return read_po(f, locale=lang)


def compiled(cat: Catalog) -> bytes:
    buf = io.BytesIO()
    write_mo(buf, cat, use_fuzzy=False)
    return buf.getvalue()


def update(area: str) -> None:
    for lang in LANGS:
        template = extract(area)       # fresh each time: Catalog.update shares its messages
        path = po_path(area, lang)
        cat = load(path, lang)
        template.creation_date = cat.creation_date   # no churn in the header
        cat.project, cat.version, cat.fuzzy = "chat-role-wizard", "0.1", False
        cat.msgid_bugs_address = cat.last_translator = ""
        cat.copyright_holder = "chat-role wizard"
        cat.update(template, no_fuzzy_matching=False)
        cat.obsolete.clear()                         # the template is the truth
        if lang == "en":
            for m in cat:
                if m.id:
                    m.string = m.id
                    m.flags.discard("fuzzy")
        path.parent.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        write_po(buf, cat, width=100, sort_by_file=True, include_previous=False,
                 include_lineno=False)        # no churn when code moves
        _replace(path, buf.getvalue())
        _replace(path.with_suffix(".mo"), compiled(cat))


def _replace(path: Path, data: bytes) -> None:
    if path.exists() and path.read_bytes() == data:
        return
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def take(ref: str, area: str) -> None:
    """Fill each empty or fuzzy translation of AREA from the same catalog at git REF."""
    import subprocess
    for lang in LANGS:
        path = po_path(area, lang)
        rel = path.relative_to(ROOT).as_posix()
        got = subprocess.run(["git", "show", f"{ref}:{rel}"], cwd=ROOT, capture_output=True)
        if got.returncode:
            continue
        theirs = read_po(io.BytesIO(got.stdout), locale=lang)
        ours = load(path, lang)
        for m in theirs:
            if not m.id or m.fuzzy or not all(_strings(m)):
                continue
            mine = ours.get(m.id, context=m.context)
            if mine is None:
                ours[m.id] = m
            elif mine.fuzzy or not all(_strings(mine)):
                mine.string, mine.flags = m.string, set(mine.flags) - {"fuzzy"}
        buf = io.BytesIO()
        write_po(buf, ours, width=100, sort_by_file=True, include_previous=False,
                 include_lineno=False)
        _replace(path, buf.getvalue())


def _ids(message) -> tuple[str, ...]:
    return message.id if isinstance(message.id, tuple) else (message.id,)


def _strings(message) -> tuple[str, ...]:
    s = message.string
    return tuple(s) if isinstance(s, (tuple, list)) else (s,)


def problems(area: str) -> list[str]:
    """Every reason the catalogs of AREA are not complete and current."""
    out: list[str] = []
    template = extract(area)
    for lang in LANGS:
        path = po_path(area, lang)
        rel = path.relative_to(ROOT)
        if not path.exists():
            out.append(f"{rel}: missing (run: python scripts/i18n.py update {area})")
            continue
        cat = load(path, lang)
        for m in template:
            if not m.id:
                continue
            where = f"{m.locations[0][0]}:{m.locations[0][1]}" if m.locations else "?"
            t = cat.get(m.id, context=m.context)
            if t is None:
                out.append(f"{rel}: not in the catalog: {_ids(m)[0]!r} ({where}); "
                           f"run: python scripts/i18n.py update {area}")
                continue
            if t.fuzzy or not all(_strings(t)):
                out.append(f"{rel}: no translation: {_ids(m)[0]!r} ({where})")
                continue
            want = {p for i in _ids(m) for p in PLACEHOLDER.findall(i)}
            for s in _strings(t):
                got = set(PLACEHOLDER.findall(s))
                if got != want:
                    out.append(f"{rel}: placeholders {sorted(got)} ≠ {sorted(want)} in the "
                               f"translation of {_ids(m)[0]!r} ({where})")
        mo = path.with_suffix(".mo")
        if not mo.exists() or mo.read_bytes() != compiled(cat):
            out.append(f"{mo.relative_to(ROOT)}: not compiled from its .po "
                       f"(run: python scripts/i18n.py update {area})")
    return out


def main(argv: list[str]) -> int:
    if argv and argv[0] == "take":
        for a in argv[2:] or list(AREAS):
            take(argv[1], a)
        argv = ["update", *argv[2:]]
    if not argv or argv[0] not in ("update", "check", "missing"):
        print(__doc__)
        return 2
    if argv[0] == "missing":
        area, lang = argv[1], argv[2]
        cat = load(po_path(area, lang), lang)
        for m in extract(area):
            t = cat.get(m.id, context=m.context)
            if m.id and (t is None or t.fuzzy or not all(_strings(t))):
                print(_ids(m)[0])
        return 0
    areas = argv[1:] or list(AREAS)
    if argv[0] == "update":
        for a in areas:
            update(a)
        argv = ["check", *areas]
    found = [p for a in areas for p in problems(a)]
    for p in found:
        print(p)
    print(f"{len(found)} problem(s) in {', '.join(areas)}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
