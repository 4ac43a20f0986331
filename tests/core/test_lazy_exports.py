"""Packages whose public names load on first use (eventdeck.core.lazy): every name is there, nothing else is."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

LAZY_PACKAGES = ("eventdeck.core.asyncapi", "eventdeck.core.gateways.mqtt")


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_every_public_name_is_found_in_its_module(package: str) -> None:
    module = importlib.import_module(package)
    for name in module.__all__:
        value = getattr(module, name)
        assert getattr(value, "__name__", name) == name


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_a_name_it_does_not_have_is_an_attribute_error(package: str) -> None:
    with pytest.raises(AttributeError, match="has no attribute 'no_such_name'"):
        _ = importlib.import_module(package).no_such_name


def test_one_module_of_the_package_loads_without_the_rest() -> None:
    probe = (
        "import sys, eventdeck.core.asyncapi.errors, eventdeck.core.gateways.mqtt.limits; "
        "print(sorted(name for name in ('yaml', 'jsonschema', 'eventdeck.core.asyncapi.normalise', "
        "'eventdeck.core.gateways.mqtt.server') if name in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]"
