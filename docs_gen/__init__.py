"""The docs site's generated parts: references and diagrams read from the code at build time, so they cannot drift."""
