"""A package's public names, imported from their modules when first used (PEP 562).

A package ``__init__`` that imported every module would make ``import eventdeck.core.asyncapi.errors``
load jsonschema, YAML and the rest too: the window's first paint waits for all of it. Instead::

    if TYPE_CHECKING:  # what type checkers and readers see
        from eventdeck.core.asyncapi.errors import AsyncApiError
    __getattr__ = lazy_exports(__name__, {"eventdeck.core.asyncapi.errors": ("AsyncApiError",)})
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence


def lazy_exports(package: str, homes: Mapping[str, Sequence[str]]) -> Callable[[str], object]:
    """A module ``__getattr__`` for ``package`` that finds each name of ``homes`` (module -> names) in its module."""
    home_of = {name: module for module, names in homes.items() for name in names}

    def find(name: str) -> object:
        module = home_of.get(name)
        if module is None:  # also how ``from package import submodule`` goes on to import the submodule
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)  # found once: later lookups do not come here
        return value

    return find
