"""Reusable widgets: the section sidebar, the bounded log view, the plan/diff view, the training banner."""
