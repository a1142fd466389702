"""Declarative form fields for section screens, with inline validators.

The patterns follow answers/schema.json so that what a screen accepts is what
the answers loader accepts.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from textual.validation import Function, ValidationResult, Validator

HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$")
ADDRESS = re.compile(r"^(?:(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
                     r"(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?"
                     r"|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(?:%[A-Za-z0-9_.-]+)?)$")
INVENTORY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
UNIX_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$")
PORTAL_VERSION = re.compile(r"^3\.\d+(\.\d+)?$")
ABS_PATH = re.compile(r"^/[^\x00\n]*$")
URL = re.compile(r"^(https?|ftp)://\S+$")
HTTPS_BASE = re.compile(r"^https://\S+[^/\s]$")
HTTPS_PORTAL = re.compile(r"^https://[^\s/]+(:[0-9]+)?/?$")
LANGUAGE = re.compile(r"^[a-z]{2}([_-][A-Z]{2})?$")
TIMEZONE = re.compile(r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$")
SERVICE = re.compile(r"^[A-Za-z0-9_.@-]+$")
DB_NAME = re.compile(r"^[A-Za-z0-9_$]+$")


def pattern(regex: re.Pattern, message: str) -> Validator:
    """A validator that accepts what `regex` matches."""
    return Function(lambda v: bool(regex.match(v)), message)


class Port(Validator):
    """A TCP port, 1-65535."""

    def validate(self, value: str) -> ValidationResult:
        if value.isdigit() and 1 <= int(value) <= 65535:
            return self.success()
        return self.failure("not a port: a number from 1 to 65535")


class IntRange(Validator):
    """An integer in [low, high]."""

    def __init__(self, low: int, high: int) -> None:
        super().__init__()
        self.low, self.high = low, high

    def validate(self, value: str) -> ValidationResult:
        if value.lstrip("-").isdigit() and self.low <= int(value) <= self.high:
            return self.success()
        return self.failure(f"not a number from {self.low} to {self.high}")


class E164(Validator):
    """A phone number in E.164 (+ country code and number, no spaces) that phonenumbers accepts."""

    def validate(self, value: str) -> ValidationResult:
        if not re.fullmatch(r"\+[1-9][0-9]{1,14}", value):
            return self.failure("not E.164: + country code and number, no spaces, e.g. +4989123456789")
        import phonenumbers            # lazy: its metadata takes a moment to load
        try:
            number = phonenumbers.parse(value, None)
        except phonenumbers.NumberParseException as e:
            if e.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
                return self.failure("unknown country code")
            return self.failure("not a phone number")
        if not phonenumbers.is_valid_number(number):
            return self.failure("not a valid number for its country code")
        return self.success()


HOSTNAME_V = pattern(HOSTNAME, "not a valid host name")
ADDRESS_V = pattern(ADDRESS, "not a valid host name or IP address")
PATH_V = pattern(ABS_PATH, "not an absolute path")
VERSION_V = pattern(PORTAL_VERSION, 'not a portal release like 3.26 or 3.11.2')
UNIX_NAME_V = pattern(UNIX_NAME, "not a user or group name")
INVENTORY_NAME_V = pattern(INVENTORY_NAME, "letters, digits, _ . - (starting with a letter or digit)")


@dataclass(frozen=True)
class Field:
    """One input of a section screen, bound to `section.key` in the answers."""

    key: str
    label: str
    kind: str = "text"              # text | int | choice | bool | secret
    help: str = ""
    default: object = None
    choices: tuple[str, ...] = ()
    validators: tuple[Validator, ...] = ()
    optional: bool = False          # empty input means "not set" (None)
    secret_key: str = ""            # keyring key for kind "secret"
    placeholder: str = ""

    @property
    def id(self) -> str:
        return self.key.replace("_", "-")
