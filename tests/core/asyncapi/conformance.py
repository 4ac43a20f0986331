"""Is a document valid AsyncAPI 3.0.0? Checked against our own schema of the part EventDeck writes
(tests/fixtures/asyncapi/asyncapi-3.0-subset.schema.yaml), and against the official schema too when
the shared corpus is beside the clone: a user's clone runs the check, the project's runs it twice."""

from __future__ import annotations

from functools import cache
from typing import Any

import yaml
from jsonschema import Draft7Validator

from tests.core.asyncapi.corpus import official_errors, official_schema
from tests.paths import ASYNCAPI_FIXTURES

SUBSET_SCHEMA = ASYNCAPI_FIXTURES / "asyncapi-3.0-subset.schema.yaml"


@cache
def _subset() -> Draft7Validator:
    schema = yaml.safe_load(SUBSET_SCHEMA.read_text(encoding="utf-8"))
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema)


def subset_errors(document: Any) -> list[str]:
    """What our own AsyncAPI 3.0.0 schema finds wrong in ``document``."""
    return [f"{error.json_path}: {error.message}" for error in _subset().iter_errors(document)]


def conformance_errors(document: Any) -> list[str]:
    """What our schema, and the official one when it is at hand, find wrong in the 3.0.0 ``document``."""
    errors = subset_errors(document)
    if official_schema("3.0.0").is_file():
        errors += [f"official: {error}" for error in official_errors(document, "3.0.0")]
    return errors
