"""Test-host fixtures (tests/testhost/): disposable CentOS 6/7 servers with a real sshd.

    def test_x(host_factory):
        lb = host_factory("centos7", jtel=False, hostname="lb1")
        chat1, chat2 = host_factory.many(2, "centos6", portal_version="3.24")

    def test_y(centos6): ...           # one host per test
    def test_z(any_host): ...          # runs once per flavor

Every host is stopped at teardown, also when the test fails. Tests using these
fixtures (or marked needs_root) are skipped when not run as root; CI runs as root.
Keep other fixtures out of this file (helper modules next to the tests instead).
"""
import os
import shutil
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))   # tests/testhost/
from testhost import FLAVORS, HostFactory  # noqa: E402

pytest_plugins = ["secretscan"]     # the secret scan after every end-to-end test (tests/secretscan.py)

ROOT_REASON = "test hosts need root (network namespaces, mounts)"


def pytest_configure(config):
    config.addinivalue_line("markers", "needs_root: skipped unless the tests run as root")
    # The tests read English unless they choose a language themselves: the machine's locale
    # (a German CI box) must not decide, for this process nor for the CLI it starts.
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        os.environ.pop(var, None)
    os.environ["LANG"] = "C.UTF-8"


@pytest.fixture(autouse=True)
def _english_unless_asked():
    from wizard import i18n
    i18n.set_language("en")
    yield
    i18n.set_language("en")


def pytest_runtest_setup(item):
    if item.get_closest_marker("needs_root") and os.geteuid() != 0:
        pytest.skip(ROOT_REASON)


def _require_host_prerequisites():
    if os.geteuid() != 0:
        pytest.skip(ROOT_REASON)
    missing = [p for p in ("/usr/sbin/sshd", "/usr/bin/python3") if not os.path.exists(p)]
    missing += [t for t in ("ip", "unshare", "setpriv", "ssh-keygen") if not shutil.which(t)]
    if missing:
        pytest.fail("test host prerequisites missing: %s (run scripts/setup-system.sh)"
                    % ", ".join(missing), pytrace=False)


@pytest.fixture
def host_factory():
    """host_factory(flavor="centos7", **options) -> a started TestHost with a unique
    name/index; host_factory.many(n, flavor, **options) starts n in parallel."""
    _require_host_prerequisites()
    factory = HostFactory()
    try:
        yield factory
    finally:
        factory.stop_all()


@pytest.fixture
def centos6(host_factory):
    return host_factory("centos6")


@pytest.fixture
def centos7(host_factory):
    return host_factory("centos7")


@pytest.fixture(params=FLAVORS)
def any_host(request, host_factory):
    return host_factory(request.param)
