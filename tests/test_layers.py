"""Layers with no arrow back: core/ imports none of api/, workers/ and console/; api/ and workers/ not each other.

Read from every import line of the source, those inside functions too (the
API's and the CLI's are often there), as docs_gen/import_graph.py draws them.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# For each layer, the packages it must not import.
FORBIDDEN = {"core": {"api", "workers", "console"}, "api": {"workers"}, "workers": {"api"}}


def imported(path: Path) -> list:
    """(line, module) of each import in a source file; a relative one is of the file's own package."""
    package = path.relative_to(ROOT).parts[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.lineno, package if node.level else node.module))
    return found


@pytest.mark.parametrize("layer", FORBIDDEN)
def test_a_layer_imports_no_package_it_must_not(layer):
    crossings = [f"{path.relative_to(ROOT)}:{line} imports {module}"
                 for path in sorted((ROOT / layer).rglob("*.py"))
                 for line, module in imported(path)
                 if module.split(".")[0] in FORBIDDEN[layer]]
    assert not crossings, "\n".join(crossings)


def test_the_walk_sees_imports_in_a_functions_body_too():
    # create_app imports its blueprints and the services only when called.
    modules = {module for _, module in imported(ROOT / "api" / "__init__.py")}
    assert {"api.legacy.routes", "core.services", "core.config"} <= modules
