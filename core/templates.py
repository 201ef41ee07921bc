"""A message's text as a template, rendered per contact in Jinja2's sandbox.

A template may use the variables `name`, `fields` (the contact's fields)
and `messenger`, the filters in FILTERS, `if`/`elif`/`else`, comparisons,
tests, `~` and `+`/`-`. Loops, macros, calls, includes and string
multiplication or formatting are refused when the template is compiled:
without them a rendering's work and size are bounded by the template's
own, so no text can keep an API process busy or fill its memory.
"""

from jinja2 import StrictUndefined, TemplateError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment

FILTERS = ("abs", "capitalize", "d", "default", "first", "float", "int", "last", "length", "lower",
           "round", "string", "title", "trim", "truncate", "upper")
ALLOWED = (nodes.Template, nodes.Output, nodes.TemplateData, nodes.Name, nodes.Const, nodes.Getattr,
           nodes.Getitem, nodes.Slice, nodes.Filter, nodes.Test, nodes.Keyword, nodes.If,
           nodes.CondExpr, nodes.Compare, nodes.Operand, nodes.And, nodes.Or, nodes.Not,
           nodes.Concat, nodes.Add, nodes.Sub, nodes.Neg, nodes.Pos, nodes.Tuple)
# What a template's refused nodes are called in the error.
REFUSED_NAMES = {nodes.For: "for loops", nodes.Macro: "macros", nodes.Call: "calls",
                 nodes.CallBlock: "call blocks", nodes.Mul: "*", nodes.Pow: "**", nodes.Mod: "%",
                 nodes.Include: "include", nodes.Import: "import", nodes.FromImport: "import",
                 nodes.Extends: "extends", nodes.Assign: "set", nodes.AssignBlock: "set",
                 nodes.FilterBlock: "filter blocks", nodes.With: "with"}


class TemplateRefused(ValueError):
    """A template that does not compile, is not allowed, or does not render for a contact."""


def _environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
    env.globals.clear()
    env.filters = {name: env.filters[name] for name in FILTERS}
    return env


_ENV = _environment()


class MessageTemplate:
    """A text compiled once and rendered for each contact and messenger."""

    def __init__(self, text: str, max_length: int):
        try:
            tree = _ENV.parse(text)
            _check(tree)
            self._template = _ENV.from_string(tree)
        except TemplateError as exc:
            raise TemplateRefused(_describe(exc)) from None
        self._max = max_length
        self.variables = frozenset(meta.find_undeclared_variables(tree))

    def render(self, name: str, fields: dict, messenger: str) -> str:
        """The text for one contact over one messenger."""
        where = f"for contact {name!r} over {messenger}"
        try:
            text = self._template.render(name=name, fields=dict(fields), messenger=messenger)
        except TemplateError as exc:
            raise TemplateRefused(f"{_describe(exc)} ({where}).") from None
        except (ArithmeticError, TypeError, ValueError) as exc:
            raise TemplateRefused(f"{type(exc).__name__}: {exc} ({where}).") from None
        if not text.strip():
            raise TemplateRefused(f"Renders an empty text {where}.")
        if len(text) > self._max:
            raise TemplateRefused(f"Renders {len(text):,} characters {where}; at most {self._max:,}.")
        return text


def _check(tree):
    for node in tree.find_all(nodes.Node):
        if isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
            raise TemplateRefused(f"Line {node.lineno}: attributes starting with _ are not allowed "
                                  "in a message template.")
        if not isinstance(node, ALLOWED):
            what = REFUSED_NAMES.get(type(node), type(node).__name__)
            raise TemplateRefused(f"Line {node.lineno}: {what} not allowed in a message template "
                                  "(variables, filters, if/elif/else, comparisons and ~ are).")


def _describe(exc) -> str:
    line = getattr(exc, "lineno", None)
    message = (exc.message or type(exc).__name__).rstrip(".")
    return f"Line {line}: {message}" if line else message[0].upper() + message[1:]
