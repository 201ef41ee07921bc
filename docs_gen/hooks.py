"""MkDocs hooks (mkdocs.yml `hooks:`): put each generated part in place of its marker.

A page asks for a generated part with a line `<!-- generated: NAME -->`;
an unknown NAME stops the build, so a renamed generator cannot leave a
page silently empty.
"""

import re
import sys
from pathlib import Path

from mkdocs.exceptions import PluginError

# MkDocs runs as a console script, whose import path lacks the repository,
# and the generators import the service's own packages.
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from docs_gen import api_reference, cli_reference, import_graph, settings_reference, status_diagram  # noqa: E402

GENERATORS = {
    "cli": cli_reference.render,
    "http-api": api_reference.render,
    "settings": settings_reference.render,
    "statuses": status_diagram.render,
    "imports": import_graph.render,
}
MARKER = re.compile(r"^<!-- generated: ([\w-]+) -->$", re.MULTILINE)


def on_page_markdown(markdown, page, **_):
    """The page's Markdown with every marker replaced by what its generator makes."""
    def generated(match):
        name = match.group(1)
        if name not in GENERATORS:
            raise PluginError(f"{page.file.src_uri}: no generator {name!r}; known: {', '.join(GENERATORS)}")
        try:
            return GENERATORS[name]()
        except LookupError as error:
            # A setting or check the docs do not describe yet: said as the build's own error.
            raise PluginError(f"{page.file.src_uri}: {error}") from error
    return MARKER.sub(generated, markdown)
