"""Detection parsers on recorded outputs (the gathering itself is tested over SSH)."""
from pathlib import Path

import pytest

from wizard import facts

DATA = Path(__file__).parent / "data" / "facts"


def read(name):
    return (DATA / name).read_text()


@pytest.mark.parametrize("name,major,version,distro", [
    ("redhat-release-c6", 6, "6.10", "CentOS"),
    ("redhat-release-c7", 7, "7.9.2009", "CentOS"),
    ("redhat-release-rhel7", 7, "7.9", "Red Hat Enterprise Linux Server"),
])
def test_redhat_release(name, major, version, distro):
    info = facts.parse_redhat_release(read(name))
    assert (info.major, info.version, info.name) == (major, version, distro)


def test_os_release_centos7():
    info = facts.parse_os_release(read("os-release-c7"))
    assert info.major == 7 and info.name == "CentOS Linux"


def test_unknown_release_is_none():
    assert facts.parse_redhat_release("Debian GNU/Linux 12\n") is None
    assert facts.parse_os_release('ID=debian\nVERSION_ID="bookworm"\n') is None


def test_java8_from_rpm():
    j = facts.parse_java(read("rpm-q-jdk"), "")
    assert j.java8 and "jdk1.8-1.8.0_202" in j.detail


def test_java8_from_java_version():
    assert facts.parse_java(read("rpm-q-none"), read("java-version-8")).java8


def test_java11_is_not_java8():
    j = facts.parse_java(read("rpm-q-none"), read("java-version-openjdk11"))
    assert not j.java8 and "11.0.20" in j.detail


def test_no_java():
    j = facts.parse_java(read("rpm-q-none"), "")
    assert not j.java8


@pytest.mark.parametrize("text,expected", [
    (None, "3.26.0"), ("3.26\n", "3.26"), ("version=3.24.1", "3.24.1"),
    ("Implementation-Version: 4.0\n", None), ("hello\n", None),
])
def test_portal_version(text, expected):
    assert facts.parse_portal_version(read("MANIFEST.MF") if text is None else text) == expected


def test_version_tuple_orders_numerically():
    assert facts.version_tuple("3.25") >= (3, 25) > facts.version_tuple("3.9.9")
    assert facts.version_tuple("3.26.1") == (3, 26)


def test_cifs_mount_detected():
    assert facts.parse_mounts(read("proc-mounts-cifs"), "/home/jtel/shared") == ("/home/jtel/shared", "cifs")


def test_nfs_is_not_windows():
    mnt = facts.parse_mounts(read("proc-mounts-local"), "/home/jtel/shared/JTELCarrierPortal")
    assert mnt == ("/home/jtel/shared", "nfs4") and mnt[1] not in facts.NETWORK_FS
