"""The training side of a Session: the scenario in use, resetting its simulated host,
switching to another, and the summary of what the trainee met and did (wizard.session
mixes this in; the scenarios themselves are wizard.training.scenarios)."""
from __future__ import annotations

from .i18n import _


class TrainingMixin:
    """Needs the Session's `lock`, `close()`, `training`, `scenario` and `record`."""

    def _start_training(self, training: bool, scenario: str | None) -> None:
        """Training (a scenario implies it): activate the scenario (UsageError: unknown)."""
        self.training = training or scenario is not None
        self.scenario: str | None = None
        if self.training:
            from .training import scenarios
            self.scenario = scenarios.activate(scenario).name

    def reset_training(self) -> None:
        """The current scenario's simulated host as freshly installed, and no journal of it
        left: its next plan is a fresh one. The other scenarios keep their state."""
        from .journal import state_dir
        from .training import SimHost
        with self.lock:
            self.close()
            SimHost.shared().reset()
            for j in (state_dir() / "journal").glob(f"*.training-{self.scenario}--*.jsonl"):
                j.unlink()
            self.record = None

    def set_scenario(self, name: str) -> None:
        """Train on another scenario from now on (its own host state and journals)."""
        from .training import scenarios
        with self.lock:
            scenario = scenarios.get(name)
            self.close()
            self.scenario = scenarios.activate(scenario.name).name
            self.training, self.record = True, None

    def scenario_summary(self, record=None) -> list[str]:
        """Training: what the trainee met and did in the last run of this scenario
        (translated lines); [] outside training."""
        if not self.training:
            return []
        from .training import scenarios
        return scenarios.run_summary(self.scenario, record or self.record)

    def add_training_summary(self, record) -> None:
        """The report's section on the scenario (replacing an earlier one of this record)."""
        if self.training:
            record.extra = [x for x in record.extra if x[0] != "Training scenario"]
            lines = self.scenario_summary(record)
            record.extra.append(("Training scenario", "\n".join(f"- {line}" for line in lines)))


def legacy_ssh_note(transport) -> str:
    """'; legacy SSH algorithms (SHA-1) had to be used: …' for an old OpenSSH, else ''."""
    legacy = (getattr(transport, "negotiated", None) or {}).get("sha1") or []
    if not legacy:
        return ""
    return _("; legacy SSH algorithms (SHA-1) had to be used: {algorithms}").format(algorithms=", ".join(legacy))
