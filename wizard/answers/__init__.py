"""The answers file: YAML keyed by section, validated against answers/schema.json.

Every problem is reported at once, one message each, as `FILE:LINE: key.path: problem`
(docs/answers-format.md). A value under a secret-bearing key is never echoed: those keys
hold keyring references (`keyring:<key>`), and a message about one never shows its value.

Modules, one concern each: `schema` (the schema, secret-bearing keys, key paths, the
message form), `yamlfile` (text → data with lines), `validate` (schema errors as
messages), `paths` (paths, service names and URLs made safe before anything connects),
`checks` (what values mean together), `model` (defaults, `Answers`, load/save),
`schema_texts` (the schema's descriptions for the catalog; `schema_text(desc)` translates one).
"""
from __future__ import annotations

from ..errors import AnswersError
from ..inventory import HostSpec
from .checks import address_problem
from .model import CM_SUBPATH, HEADER, Answers, load, loads
from .schema import (FORMAT_VERSION, REF_PREFIX, ROLES, SECTIONS, is_secret_path, keypath,
                     schema)
from .schema_texts import schema_text
from .validate import suggested_key

__all__ = ["AnswersError", "Answers", "HostSpec", "CM_SUBPATH", "FORMAT_VERSION", "HEADER",
           "REF_PREFIX", "ROLES", "SECTIONS", "address_problem", "is_secret_path", "keypath",
           "load", "loads", "schema", "schema_text", "suggested_key"]
