"""Disposable CentOS 6/7 SSH test hosts for the project's tests (see README.md)."""
from .testhost import (FLAVORS, HostFactory, TestHost, allocate_index, claim_index,
                       exec_cmd, release_index)

__all__ = ["FLAVORS", "HostFactory", "TestHost", "allocate_index", "claim_index",
           "exec_cmd", "release_index"]
