"""Documentation contracts: docstring examples run, every public object is documented,
and ARCHITECTURE.md names every module that exists (and nothing that does not)."""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import effekt as ek

ROOT = Path(__file__).resolve().parents[1]
OPTIONAL = ("effekt.bayes",)  # modules needing an extra that may not be installed


def _modules() -> list[str]:
    names = ["effekt"]
    for info in pkgutil.walk_packages(ek.__path__, "effekt."):
        if info.name.endswith("__main__") or info.name.startswith(OPTIONAL):
            continue
        names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, name, globs={}):
        runner.run(test)
    assert runner.failures == 0, f"{runner.failures} failing docstring example(s) in {name}"


def _public_objects():
    for name in _modules():
        module = importlib.import_module(name)
        if name.split(".")[-1].startswith("_"):
            continue
        for attr in getattr(module, "__all__", []):
            obj = getattr(module, attr)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                yield f"{name}.{attr}", obj


@pytest.mark.parametrize(
    ("qualname", "obj"), list(_public_objects()), ids=lambda v: v if isinstance(v, str) else ""
)
def test_public_objects_have_numpydoc_docstrings(qualname, obj):
    doc = inspect.getdoc(obj) or ""
    assert len(doc) > 40, f"{qualname} has no real docstring"
    if inspect.isfunction(obj) and inspect.signature(obj).parameters:
        assert "Parameters\n----------" in doc, f"{qualname} lacks a Parameters section"


def test_architecture_map_is_current():
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    mentioned = set(re.findall(r"`(effekt(?:\.\w+)+)`", text))
    existing = set(_modules()) | {m for m in mentioned if m.startswith(OPTIONAL)}
    top_level = {m for m in existing if m.count(".") == 1}
    assert top_level <= mentioned, f"modules missing from ARCHITECTURE.md: {top_level - mentioned}"
    stale = {m for m in mentioned if m not in existing and not _is_attribute(m)}
    assert not stale, f"ARCHITECTURE.md names modules that do not exist: {stale}"


def _is_attribute(dotted: str) -> bool:
    module, _, attr = dotted.rpartition(".")
    try:
        return hasattr(importlib.import_module(module), attr)
    except ImportError:
        return False


def test_readme_quick_start_runs():
    """The README's quick-start block runs as written (no undefined names, no errors)."""
    import matplotlib.pyplot as plt

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1]
    block = re.search(r"```python\n(.*?)```", section, re.S)
    assert block is not None, "README has no python block under 'Quick start'"
    namespace: dict[str, object] = {}
    exec(compile(block.group(1), "README.md:quick-start", "exec"), namespace)
    plt.close("all")
    assert {"panel", "result", "world"} <= namespace.keys()
