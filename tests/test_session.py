"""The one headless session both faces drive (issue 8): the CLI through it, the report
it writes, section names checked, the import graph pointing one way."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from wizard import events as ev
from wizard.plan import Command, HostPlan, NoOp, Plan, SectionPlan
from wizard.report import RunRecord, build_report, report_path, write_new

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "answers" / "training.yaml"


def cli(tmp_path, *args):
    env = {"CHATWIZARD_STATE_DIR": str(tmp_path / "state"), "CHATWIZARD_LOG_DIR": str(tmp_path / "log"),
           "CHATWIZARD_KEYRING": "training", "PYTHONPATH": str(REPO), "HOME": str(tmp_path),
           "PATH": "/usr/bin:/bin"}
    p = subprocess.run([sys.executable, "-m", "wizard.cli", *args], capture_output=True, text=True,
                       env=env, cwd=tmp_path, timeout=300, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def test_an_unknown_only_section_is_a_usage_error_with_the_list(tmp_path):
    rc, out, err = cli(tmp_path, "plan", "--training", str(SAMPLE), "--only", "firewal")
    assert rc == 2, (out, err)
    assert "--only firewal: no such section" in err and "firewall" in err and "load_balancer" in err
    assert "Nothing to" not in out


def test_cli_apply_writes_a_timestamped_report_per_run(tmp_path):
    site = tmp_path / "site.yaml"
    site.write_text(SAMPLE.read_text())
    rc, out, err = cli(tmp_path, "apply", "--training", "--yes", str(site))
    assert rc == 0, err
    rc, out2, err = cli(tmp_path, "apply", "--training", "--yes", str(site))
    assert rc == 0 and "Nothing to do." in out2, err
    reports = sorted(tmp_path.glob("site.report-*.md"))
    assert len(reports) == 1            # nothing to do: no run, no report
    text = reports[0].read_text()
    assert "outcome: **success**" in text and "| sim | Install Java 8" in text


def test_report_notes_end_before_the_step_table():
    plan = Plan([SectionPlan("java", "1. Java 8", [HostPlan("chat1", [Command("Install Java 8", "yum -y install x")])],
                             ["chat1: a note the engineer should read"])])
    record = RunRecord(plan)
    record.observe(ev.StepDone("chat1", "java", "Install Java 8", 1.0))
    text = build_report(record, source="s.yaml", training=False, when="now")
    lines = text.splitlines()
    i = lines.index("> chat1: a note the engineer should read")
    assert lines[i + 1] == "" and lines[i + 2] == "| host | step | result |"
    assert "| chat1 | Install Java 8 | done |" in text


def test_reports_are_never_overwritten(tmp_path):
    first = write_new(report_path(tmp_path, "site", "20261202T100000Z"), "one")
    second = write_new(report_path(tmp_path, "site", "20261202T100000Z"), "two")
    assert first != second and first.read_text() == "one" and second.read_text() == "two"
    assert not list(tmp_path.glob(".*tmp"))


def test_sections_skip_with_an_unknown_name_is_refused(tmp_path):
    site = tmp_path / "site.yaml"
    site.write_text(SAMPLE.read_text() + "\nsections:\n  skip: [firewal]\n")
    rc, out, err = cli(tmp_path, "plan", "--training", str(site))
    assert rc == 3, (out, err)
    assert "sections.skip" in err and "firewal" in err


def test_a_changed_secret_previews_as_such_and_the_restart_says_why():
    """Only the DB password differs: the diff of the masked forms is empty, so the preview
    says the password changed (masked), and the restart names it."""
    from wizard.plan import FileChange
    fc = FileChange("Update /etc/init.d/x", "/etc/init.d/x", b"pw=new\n", b"pw=old\n",
                    new_shown="pw=********\n", old_shown="pw=********\n", secret_label="DB password")
    assert fc.secret_changed
    assert "DB password changed (masked)" in fc.render()
    assert "pw=old" not in fc.render() and "pw=new" not in fc.render()


def test_training_answers_unknown_key_is_refused_before_anything(tmp_path):
    rc, out, err = cli(tmp_path, "plan", "--training", str(tmp_path / "missing.yaml"))
    assert rc == 3 and "missing.yaml" in err


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_core_never_imports_screens_or_textual():
    offenders = [(p.relative_to(REPO), m) for p in (REPO / "wizard").rglob("*.py")
                 for m in _imports(p) if m.split(".")[0] in ("screens", "textual")]
    # the CLI starts the TUI through one lazy import in main(): that is the only way up
    assert offenders == [(Path("wizard/cli.py"), "screens.app")], offenders
    src = (REPO / "wizard" / "cli.py").read_text()
    assert src.count("screens") == 1


def test_the_tui_has_no_orchestration_of_its_own():
    assert not (REPO / "screens" / "engine.py").exists()
    for p in (REPO / "screens").rglob("*.py"):
        mods = _imports(p)
        assert not {"wizard.runner", "wizard.planner", "wizard.connect"} & mods, p


def test_no_module_of_the_core_is_huge():
    """Split along the seams: nothing in wizard/ over ~400 lines but the pure file editors
    and the training host's shell."""
    allowed = {"hazelcast_xml.py", "haproxy_cfg.py", "initscript.py"}
    big = [(str(p.relative_to(REPO)), n) for p in (REPO / "wizard").rglob("*.py")
           if "training" not in p.parts and p.name not in allowed
           and (n := len(p.read_text().splitlines())) > 460]
    assert big == [], big


def test_an_error_on_the_training_host_is_not_a_lost_connection():
    """The training host failing with a missing folder: reported in its own words, never
    as "connection to … lost" (issue 8)."""
    from wizard.plan import FileChange
    from wizard.runner import Runner
    from wizard.transport.base import HostSpec, TransportError
    from wizard.transport.fake import FakeTransport

    class Missing(FakeTransport):
        training = True                 # as wizard.training.SimTransport says of itself

        def write_file(self, path, data, **kw):
            raise TransportError(f"{path}: No such file or directory")
    t = Missing(HostSpec("sim", "sim"))
    plan = Plan([SectionPlan("update_script", "5. Update script", [HostPlan("sim", [
        FileChange("Write the update script", "/nowhere/updatesc.sh", b"x\n", None)])])])
    failed = []
    result = Runner(plan, {"sim": t}, emit=lambda e: failed.append(e) if isinstance(e, ev.StepFailed) else None).run()
    assert not result.ok and failed
    assert "No such file or directory" in failed[0].reason
    assert "lost" not in failed[0].reason and not result.hosts["sim"].lost
