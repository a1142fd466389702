"""Detection in one batch per host (wizard.batch), over real SSH on the sample sites.

For each sample, on fresh test hosts and again after the install: `chatwizard plan` with the
batch and with the old read-by-read detection (CHATWIZARD_DETECT=per-read) preview exactly
the same plan; with the batch, detection sends each host at most 2 round trips (counted by
the SSH transport) and planning needs no read the batch did not hold.
"""
from __future__ import annotations

import re

import pytest

from e2e_site import Site

pytestmark = pytest.mark.needs_root

_STATS = re.compile(r"batch: (?P<host>\S+): detection (?P<rt>\d+) round trip\(s\); planning "
                    r"(?P<miss>\d+) read\(s\) not in the batch, (?P<checks>\d+) check")


@pytest.fixture
def site_for(host_factory, tmp_path):
    sites = []

    def make(samples, flavor):
        s = Site.start(host_factory, tmp_path, samples, flavor)
        sites.append(s)
        return s
    yield make
    for s in sites:
        s.stop()


def _plan(site, answers, *, batch: bool):
    before = set(site.cli.logs.glob("*-plan.log")) if site.cli.logs.exists() else set()
    old = site.cli.vars.get("CHATWIZARD_DETECT")
    site.cli.vars["CHATWIZARD_DETECT"] = "batch" if batch else "per-read"
    try:
        run = site.cli.run("plan", answers)
    finally:
        if old is None:
            site.cli.vars.pop("CHATWIZARD_DETECT")
        else:
            site.cli.vars["CHATWIZARD_DETECT"] = old
    assert run.rc == 0, str(run)
    log, = set(site.cli.logs.glob("*-plan.log")) - before
    text = log.read_text("utf-8")
    preview = "\n".join(l for l in run.out.splitlines() if not l.startswith("log: "))
    stats = {m["host"]: (int(m["rt"]), int(m["miss"])) for m in _STATS.finditer(text)}
    misses = re.findall(r"batch: \S+: not in the batch: .*", text)
    return preview, stats, misses


@pytest.mark.parametrize("sample,flavor", [("centos7-https-whatsapp.yaml", "centos7"),
                                           ("centos6-http.yaml", "centos6")])
def test_batched_detection_same_plan_few_round_trips(site_for, sample, flavor):
    site = site_for([sample], flavor)
    answers = site.answers(sample)
    for stage in ("fresh", "installed"):
        new, stats, misses = _plan(site, answers, batch=True)
        old, old_stats, _ = _plan(site, answers, batch=False)
        assert new == old, stage
        assert old_stats == {}                       # the old path really was taken
        assert set(stats) == set(site.hosts), stats
        for host, (round_trips, missed) in stats.items():
            assert 1 <= round_trips <= 2, (stage, host, round_trips)
            assert missed == 0, (stage, host, misses)
        if stage == "fresh":
            run = site.apply(answers)
            assert run.rc == 0, str(run)
        # a second round only where something depends on the first (the firewall kind of
        # the release on CHAT and LB hosts, the daemon's status once its script is there)
        for host, roles in site.roles.items():
            assert stats[host][0] == (2 if set(roles) & {"CHAT", "LB"} else 1), (stage, stats)
