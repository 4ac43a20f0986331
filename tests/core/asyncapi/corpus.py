"""The shared AsyncAPI corpus and official schemas: the corpus extras skip, saying so, when they are absent."""

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
        pytest.skip(f"corpus extra: the shared AsyncAPI corpus is absent ({path} not found)")
    return path


def official_schema(version: str) -> Path:
    """Where the official JSON Schema of AsyncAPI ``version`` is in the corpus (it may be absent)."""
    return SCHEMAS / f"asyncapi-{version}.json"


@cache
def _official(version: str) -> Draft7Validator:
    return Draft7Validator(json.loads(official_schema(version).read_text(encoding="utf-8")))


def official_errors(document: Any, version: str) -> list[str]:
    """What the official JSON Schema of AsyncAPI ``version`` finds wrong in ``document``."""
    if not official_schema(version).is_file():
        pytest.skip(f"corpus extra: the official AsyncAPI {version} JSON Schema is absent ({SCHEMAS} not found)")
    return [f"{error.json_path}: {error.message}" for error in _official(version).iter_errors(document)]
