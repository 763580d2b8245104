"""The examples in the pure packages' docstrings run and give what they show (DESIGN.md
principle 11: numpydoc docstrings with doctested examples)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import combat_norse.protocol
import combat_norse.randomization
import combat_norse.stats

PACKAGES = (combat_norse.protocol, combat_norse.randomization, combat_norse.stats)
MODULES = sorted(
    info.name
    for package in PACKAGES
    for info in pkgutil.iter_modules(package.__path__, prefix=f"{package.__name__}.")
)


@pytest.mark.req("#2", "#7")
@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


def test_the_examples_exist() -> None:
    attempted = 0
    for name in MODULES:
        finder = doctest.DocTestFinder()
        attempted += sum(len(t.examples) for t in finder.find(importlib.import_module(name)))
    assert attempted >= 10
