"""The core speaks English, German and French: --lang beats the answers file's ui.language
beats the locale, end to end through `chatwizard`; --help and argparse's own words follow;
answers problems still name file:line:key in every language; the schema's texts and
argparse's msgids are in the catalog."""
from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from wizard import answers, i18n
from wizard.answers import schema_texts
from wizard.errors import AnswersError, AnswersProblem
from wizard.session import Session

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "answers" / "training.yaml"
PCT = re.compile(r"%(?:\([A-Za-z_]+\))?[sdr]")

BAD = """\
version: 1
inventory:
  hosts:
    chat1:
      address: chat1
      port: twenty-two
      roles: [CHAT]
portal: {scheme: http, load_balancer: jtel-portal}
daemon: {db_password: "keyring:db/root"}
sections: {skip: [hazelcast, daemon, update_script, firewall, load_balancer]}
"""


def cli(tmp_path: Path, *args: str, lang: str = "C.UTF-8", stdin: str = "") -> tuple[int, str, str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(ROOT), "LANG": lang,
           "CHATWIZARD_STATE_DIR": str(tmp_path / "state"), "CHATWIZARD_LOG_DIR": str(tmp_path / "log"),
           "CHATWIZARD_KEYRING": "prompt"}
    p = subprocess.run([sys.executable, "-m", "wizard.cli", *args], capture_output=True, text=True,
                       env=env, cwd=tmp_path, timeout=120, input=stdin)
    return p.returncode, p.stdout, p.stderr


def _tool(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# -- --help and argparse's words ------------------------------------------------------------

def test_help_follows_the_locale_and_the_flag(tmp_path):
    rc, out, _ = cli(tmp_path, "--help", lang="de_DE.UTF-8")
    assert rc == 0
    assert out.startswith("Aufruf: chatwizard") and "\nOptionen:" in out, out
    assert "diese Hilfe anzeigen und beenden" in out
    assert "die TUI mit dieser Antwortdatei vorausgefüllt öffnen" in out
    assert "usage:" not in out and "show this help" not in out

    rc, out, _ = cli(tmp_path, "--lang", "fr", "--help", lang="de_DE.UTF-8")
    assert rc == 0 and out.startswith("utilisation: chatwizard"), out
    assert "afficher cette aide et quitter" in out and "arguments positionnels" in out

    rc, out, _ = cli(tmp_path, "plan", "--help", "--lang=de")
    assert rc == 0 and out.startswith("Aufruf: chatwizard plan") and "Antwortdatei (YAML)" in out, out

    rc, out, _ = cli(tmp_path, "--lang", "en", "--help", lang="fr_FR.UTF-8")
    assert rc == 0 and out.startswith("usage: chatwizard") and "show this help message and exit" in out


def test_argparse_errors_are_translated_and_keep_exit_code_2(tmp_path):
    rc, _, err = cli(tmp_path, "plan", lang="de_DE.UTF-8")
    assert rc == 2
    assert "chatwizard plan: Fehler: folgende Argumente sind erforderlich: ANSWERS" in err, err
    rc, _, err = cli(tmp_path, "--lang", "fr", "nope")
    assert rc == 2 and "erreur: argument command: choix invalide: 'nope'" in err, err
    rc, _, err = cli(tmp_path, "--lang", "xx", "plan", "a.yaml", lang="de_DE.UTF-8")
    assert rc == 2 and "ungültige Auswahl: 'xx'" in err, err     # a bad --lang: the locale speaks


def test_argparse_msgids_exist_and_translations_keep_their_placeholders():
    from babel.messages.extract import extract_from_file
    import argparse
    from wizard import argparse_texts
    theirs = {m for _l, m, _c, _x in extract_from_file(
        "python", argparse.__file__, keywords={"_": None, "ngettext": (1, 2)})}
    mine = set(argparse_texts.MESSAGES) | {("expected %s argument", "expected %s arguments")}
    assert mine - {"subcommands"} <= theirs, mine - theirs        # no stale msgid
    for must in ("usage: ", "positional arguments", "options", "show this help message and exit",
                 "the following arguments are required: %s", "%(prog)s: error: %(message)s\n"):
        assert must in mine
    tool = _tool("i18n_tool_core", ROOT / "scripts" / "i18n.py")
    for lang in ("de", "fr"):
        cat = tool.load(tool.po_path("core", lang), lang)
        for msgid in mine:
            m = cat.get(msgid)
            assert m is not None and all(m.string if isinstance(m.string, tuple) else [m.string]), msgid
            want = sorted(PCT.findall(msgid if isinstance(msgid, str) else msgid[1]))
            for s in (m.string if isinstance(m.string, tuple) else (m.string,)):
                assert sorted(PCT.findall(s)) == want, (lang, msgid, s)
            if isinstance(msgid, str) and msgid.endswith("\n"):
                assert m.string.endswith("\n")


# -- the answers file: ui.language, problems in every language ------------------------------

def test_a_bad_answers_file_speaks_the_chosen_language_and_names_file_line_key(tmp_path):
    site = tmp_path / "site.yaml"
    site.write_text(BAD)
    rc, out, err = cli(tmp_path, "--lang", "de", "plan", str(site))
    assert rc == 3, err
    assert f"Fehler: {site}:6: inventory.hosts.chat1.port: 'twenty-two' ist nicht eine ganze Zahl" in err, err
    rc, out, err = cli(tmp_path, "plan", str(site), lang="fr_FR.UTF-8")
    assert rc == 3 and f"erreur: {site}:6: inventory.hosts.chat1.port: 'twenty-two' n'est pas un entier" in err, err
    rc, out, err = cli(tmp_path, "plan", str(site))
    assert rc == 3 and f"error: {site}:6: inventory.hosts.chat1.port: 'twenty-two' is not an integer" in err, err


def test_ui_language_beats_the_locale_and_the_flag_beats_both(tmp_path):
    site = tmp_path / "site.yaml"
    site.write_text(BAD + "ui: {language: fr}\n")
    where = f"{site}:6: inventory.hosts.chat1.port: 'twenty-two'"
    rc, _, err = cli(tmp_path, "plan", str(site), lang="de_DE.UTF-8")
    assert rc == 3 and f"erreur: {where} n'est pas un entier" in err, err
    rc, _, err = cli(tmp_path, "plan", str(site), "--lang", "de")
    assert rc == 3 and f"Fehler: {where} ist nicht eine ganze Zahl" in err, err
    rc, _, err = cli(tmp_path, "--lang", "en", "plan", str(site), lang="de_DE.UTF-8")
    assert rc == 3 and f"error: {where} is not an integer" in err, err


def test_ui_language_applies_to_a_valid_file_too(tmp_path):
    site = tmp_path / "site.yaml"
    site.write_text(SAMPLE.read_text() + "\nui: {language: de}\n")
    rc_en, _, err = cli(tmp_path, "backups", "--training", str(site), "--host", "nope", "--lang", "en")
    assert f"error: --host nope: not in the inventory of {site}" in err, err
    rc, _, err = cli(tmp_path, "backups", "--training", str(site), "--host", "nope")
    assert rc == rc_en != 0
    assert f"Fehler: --host nope: nicht im Inventar von {site}" in err, err
    assert "log: " in err                 # printed before the file was read: the locale's language
    rc, _, err = cli(tmp_path, "--lang", "fr", "backups", "--training", str(site), "--host", "nope")
    assert rc == rc_en and f"erreur: --host nope: absent de l'inventaire de {site}" in err, err


def test_a_bad_ui_language_is_refused_naming_the_key(tmp_path):
    site = tmp_path / "site.yaml"
    site.write_text(SAMPLE.read_text() + "\nui:\n  language: es\n")
    rc, _, err = cli(tmp_path, "plan", "--training", str(site))
    line = len(SAMPLE.read_text().splitlines()) + 3
    assert rc == 3 and f"{site}:{line}: ui.language: 'es' is not one of: en, de, fr" in err, err
    with pytest.raises(AnswersError, match=r"ui\.lang: unknown key 'lang' \(did you mean 'language'\?\)"):
        answers.loads(SAMPLE.read_text() + "\nui: {lang: de}\n", "s.yaml")


def test_problems_keep_their_structure_in_every_language():
    i18n.set_language("de")
    data = yaml.safe_load(SAMPLE.read_text())
    data["inventory"]["hosts"]["sim"]["port"] = "zwei"
    got, problems = Session(training=True).validate(data, "answers")
    assert got is None
    assert [(p.key, p.section) for p in problems] == [("inventory.hosts.sim.port", "inventory")]
    assert "ist nicht eine ganze Zahl" in problems[0].text
    with pytest.raises(AnswersError) as ei:
        answers.loads("version: 1\nportal: [1\n", "x.yaml")
    item = ei.value.items[0]
    assert isinstance(item, AnswersProblem) and (item.source, item.line) == ("x.yaml", 3)
    assert str(item).startswith("x.yaml:3:1: YAML-Syntaxfehler: ")


# -- the session's language -------------------------------------------------------------------

def test_session_set_language_switches_and_writes_ui_language(tmp_path):
    site = tmp_path / "site.yaml"
    site.write_text(SAMPLE.read_text())
    s = Session(training=True)
    assert s.language == "en"
    ans = s.load(site)
    assert "ui" not in yaml.safe_load(ans.dump()) and not s.edited
    assert s.set_language("fr") == "fr"
    assert s.language == "fr" == i18n.current_language()
    assert s.edited and s.answers.data["ui"] == {"language": "fr"}
    s.answers.save()
    assert yaml.safe_load(site.read_text())["ui"] == {"language": "fr"}
    assert Session(training=True).load(site).data["ui"]["language"] == "fr"
    with pytest.raises(ValueError, match="langue inconnue 'xx'"):
        s.set_language("xx")
    assert s.language == "fr"
    s.set_language("fr")                    # the same language: nothing more to save
    i18n.set_language("de")
    s.use(answers.loads(SAMPLE.read_text() + "\nui: {language: en}\n", "b.yaml"))
    assert s.language == "en" and not s.edited
    s.use(answers.loads(SAMPLE.read_text(), "c.yaml"))     # no ui.language: unchanged
    assert s.language == "en"


def test_set_language_without_answers_only_switches():
    s = Session(training=True)
    s.set_language("de")
    assert s.language == "de" and s.answers is None and not s.edited


def test_the_flag_beats_ui_language_in_a_session():
    i18n.start("fr", {"LANG": "de_DE.UTF-8"})
    try:
        s = Session(training=True)
        s.use(answers.loads(SAMPLE.read_text() + "\nui: {language: de}\n", "b.yaml"))
        assert s.language == "fr"
    finally:
        i18n.forget_flag()


# -- the schema's texts -----------------------------------------------------------------------

def test_schema_texts_module_matches_the_schema():
    tool = _tool("schema_texts_tool", ROOT / "scripts" / "schema_texts.py")
    schema = json.loads((ROOT / "answers" / "schema.json").read_text("utf-8"))
    assert tool.MODULE.read_text("utf-8") == tool.render(schema), \
        "answers/schema.json changed: run python scripts/schema_texts.py, then scripts/i18n.py update core"
    texts = tool.texts(schema)
    assert schema["properties"]["ui"]["properties"]["language"]["description"] in texts
    assert schema["properties"]["portal"]["properties"]["version"]["patternErrorMessage"] in texts
    assert set(texts) == set(schema_texts.TEXTS)


def test_schema_text_translates_a_description():
    desc = answers.schema()["properties"]["portal"]["properties"]["load_balancer"]["description"]
    assert schema_texts.schema_text(desc) == desc
    i18n.set_language("de")
    assert schema_texts.schema_text(desc).startswith("Der Name, unter dem Browser den Load-Balancer")
    i18n.set_language("fr")
    assert "l'équilibreur de charge" in schema_texts.schema_text(desc)
    assert schema_texts.schema_text(None) == ""


def test_a_pattern_message_is_shown_translated():
    i18n.set_language("fr")
    with pytest.raises(AnswersError) as ei:
        answers.loads(SAMPLE.read_text().replace("portal:", 'portal:\n  version: "x3"', 1), "s.yaml")
    assert "portal.version: 'x3': pas une version du portail" in str(ei.value), str(ei.value)


# -- over real SSH ------------------------------------------------------------------------------

@pytest.mark.needs_root
def test_host_key_prompt_and_refusal_in_german_over_ssh(host_factory, tmp_path):
    sys.path.insert(0, str(Path(__file__).parent))
    from cli_env import Env
    from secretscan import DB_PASSWORD
    th = host_factory("centos7")
    env = Env(tmp_path)
    env.vars["LANG"] = "de_DE.UTF-8"
    env.ssh_config(th, known_hosts=False)
    env.answers.write_text(BAD.replace("      port: twenty-two\n", ""))
    env.secret("db/root", DB_PASSWORD)
    rc, out, err = env.run("plan", str(env.answers))
    assert rc == 4, err
    assert re.search(r"Fehler: chat1 \(\S+\): unbekannter Host-Schlüssel \S+ SHA256:[A-Za-z0-9+/]{43}\. "
                     r"Vergleichen Sie ihn mit dem des Servers", err), err
    rc, out, err = env.run("--lang", "fr", "plan", str(env.answers), "--accept-host-key", "SHA256:" + "A" * 43)
    assert rc == 4 and "erreur: chat1 (" in err and "clé d'hôte inconnue" in err, err
    assert "journal d'exécution: " in err
    fp = re.search(r"SHA256:[A-Za-z0-9+/]{43}", err.split("clé d'hôte inconnue", 1)[1])[0]
    rc, out, err = env.run("plan", str(env.answers), "--accept-host-key", fp)
    assert rc == 0, err
    assert "Protokoll: " in err
    assert th.calls("yum") == []
