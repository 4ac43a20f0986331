"""Where the shared AsyncAPI corpus and official schemas are; tests skip when they are absent."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator

from tests.paths import CORPUS

SCHEMAS = CORPUS / "schemas"


def corpus_file(relative: str) -> Path:
    path = CORPUS / relative
    if not path.is_file():
        pytest.skip(f"the shared AsyncAPI corpus is absent ({path} not found)")
    return path


@cache
def _official(version: str) -> Draft7Validator:
    return Draft7Validator(json.loads((SCHEMAS / f"asyncapi-{version}.json").read_text(encoding="utf-8")))


def official_errors(document: Any, version: str) -> list[str]:
    """What the official JSON Schema of AsyncAPI ``version`` finds wrong in ``document``."""
    if not (SCHEMAS / f"asyncapi-{version}.json").is_file():
        pytest.skip(f"the official AsyncAPI {version} JSON Schema is absent (looked in {SCHEMAS})")
    return [f"{error.json_path}: {error.message}" for error in _official(version).iter_errors(document)]
