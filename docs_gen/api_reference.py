"""The HTTP API reference: /api/v1 from the OpenAPI document the app itself serves, as Markdown tables."""

import logging

from api import create_app
from core.config import Config

METHODS = ("get", "post", "put", "patch", "delete")
# A longer list of allowed values (the time zones) is summed up, not listed.
ENUM_SHOWN = 12


def spec() -> dict:
    """The OpenAPI document of an app built in-process: built, not requested, so no store is reached."""
    # The app sets the process's logging up as the service's; the build keeps its own.
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        app = create_app(Config())
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    return app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()


def operations(document: dict):
    """(path, method, operation, parameters) of every operation, in the document's order."""
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                operation = item[method]
                yield path, method, operation, [*item.get("parameters", ()), *operation.get("parameters", ())]


def schema_anchor(name: str) -> str:
    """The id of a schema's heading (apart from the tags', which may share its name)."""
    return f"schema-{name.lower()}"


def operation_anchor(method: str, path: str) -> str:
    """The id of an operation's heading: `post-api-v1-contacts-name-unblock`."""
    return "-".join([method, *"".join(c if c.isalnum() else " " for c in path).split()])


def type_of(schema: dict) -> str:
    """A schema in a few words: its type, what it refers to, or its alternatives, with its limits."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return f"[{name}](#{schema_anchor(name)})"
    for key in ("oneOf", "anyOf"):
        if key in schema:
            kinds = [type_of(option) for option in schema[key]]
            text = " or ".join(dict.fromkeys(kinds))
            break
    else:
        if "enum" in schema:
            values = [f"`{value}`" for value in schema["enum"] if value is not None]
            text = ("one of " + ", ".join(values) if len(values) <= ENUM_SHOWN
                    else f"one of {len(values)} values such as {', '.join(values[:3])}")
        elif schema.get("type") == "array":
            text = f"list of {type_of(schema.get('items', {}))}"
        elif schema.get("type") == "object" and schema.get("nullable") and len(schema) == 2:
            return "null"
        else:
            text = schema.get("format") or schema.get("type") or "any"
    limits = [limit for limit in (_span(schema, "minLength", "maxLength", "characters"),
                                  _span(schema, "minItems", "maxItems", "items"),
                                  _span(schema, "minimum", "maximum", "")) if limit]
    if schema.get("nullable") and "null" not in text:
        text += " or null"
    return ", ".join([text, *limits])


def _span(schema, low, high, unit):
    lo, hi = schema.get(low), schema.get(high)
    if lo is None and hi is None:
        return ""
    if lo is not None and hi is not None:
        words = f"{lo}-{hi}"
    else:
        words = f"{lo} or more" if hi is None else f"up to {hi}"
    return f"{words} {unit}".strip()


def _prose(text) -> str:
    """The document's text as Markdown: `<key>` outside code spans shown, not taken for HTML."""
    pieces = str(text).split("`")
    return "`".join(piece if i % 2 else piece.replace("<", "&lt;") for i, piece in enumerate(pieces))


def _cell(text) -> str:
    return " ".join(_prose(text).split()).replace("|", "\\|")


def _table(header, rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(_cell(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _default(schema) -> str:
    return f" Default: `{schema['default']}`." if schema.get("default") not in (None, "") else ""


def _parameters(parameters) -> str:
    rows = [(f"`{p['name']}`", p["in"], type_of(p.get("schema", {})), "yes" if p.get("required") else "no",
             p.get("description", "") + _default(p.get("schema", {}))) for p in parameters]
    return "**Parameters**\n\n" + _table(("name", "in", "type", "required", "meaning"), rows)


def _body(body) -> str:
    kinds = [f"`{kind}`: {type_of(content.get('schema', {}))}" for kind, content in body["content"].items()]
    return "**Body** " + ("(required)" if body.get("required") else "(optional)") + ": " + "; ".join(kinds) + "\n"


def _answers(document, responses) -> str:
    rows = []
    # Success first, then errors by code; "default" (any other error) last.
    for status, answer in sorted(responses.items(), key=lambda item: (item[0] == "default", item[0])):
        if "$ref" in answer:
            answer = document["components"]["responses"][answer["$ref"].rsplit("/", 1)[1]]
        content = answer.get("content", {}).get("application/json", {})
        body = type_of(content["schema"]) if "schema" in content else "none"
        headers = ", ".join(f"`{name}`" for name in answer.get("headers", {}))
        rows.append((status, answer.get("description", ""), body + (f"; headers {headers}" if headers else "")))
    return "**Answers**\n\n" + _table(("status", "meaning", "body"), rows)


def _operation(document, path, method, operation, parameters) -> str:
    parts = [f"### `{method.upper()} {path}` {{#{operation_anchor(method, path)}}}\n",
             _prose(operation.get("summary", "")), _prose(operation.get("description", ""))]
    if parameters:
        parts.append(_parameters(parameters))
    if "requestBody" in operation:
        parts.append(_body(operation["requestBody"]))
    parts.append(_answers(document, operation["responses"]))
    return "\n".join(part.strip() + "\n" for part in parts if part.strip())


def _schema(name, schema) -> str:
    parts = [f"### {name} {{#{schema_anchor(name)}}}\n", _prose(schema.get("description", ""))]
    if "properties" in schema:
        required = set(schema.get("required", ()))
        rows = [(f"`{field}`", type_of(spec_), "yes" if field in required else "no",
                 spec_.get("description", "") + _default(spec_))
                for field, spec_ in schema["properties"].items()]
        parts.append(_table(("field", "type", "required", "meaning"), rows))
    else:
        parts.append(type_of(schema))
    return "\n".join(part.strip() + "\n" for part in parts if part.strip())


def render(document: dict | None = None) -> str:
    """Markdown: each tag's operations with their parameters, body and answers, then every schema."""
    document = document or spec()
    parts = []
    for tag in document.get("tags", ()):
        parts.append(f"## {tag['name'].capitalize()}\n\n{_prose(tag.get('description', ''))}\n")
        parts += [_operation(document, path, method, operation, parameters)
                  for path, method, operation, parameters in operations(document)
                  if tag["name"] in operation.get("tags", ())]
    parts.append("## Schemas\n\nWhat the bodies above are made of.\n")
    parts += [_schema(name, schema) for name, schema in document["components"]["schemas"].items()]
    return "\n".join(parts)
