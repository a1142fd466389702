"""Starting content of the simulated training host (wizard.training)."""
