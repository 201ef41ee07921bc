"""Which of the service's packages import which, read from the source, as a mermaid diagram."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The service's own top-level parts (cli.py is the CLI's entry, beside console/).
PACKAGES = ("api", "workers", "console", "stack", "fake_gateway", "core")


def imports() -> dict:
    """{package: set of the other PACKAGES its modules import}."""
    found = {package: set() for package in PACKAGES}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                found[package] |= {name.split(".")[0] for name in names} & set(PACKAGES) - {package}
    return found


def render() -> str:
    """A mermaid flowchart: an arrow from each package to each package it imports."""
    lines = ["```mermaid", "flowchart TD"]
    lines += [f"    {package} --> {used}" for package, uses in imports().items() for used in sorted(uses)]
    lines.append("```")
    return "\n".join(lines) + "\n"
