"""A message's text as a template, rendered per contact in Jinja2's sandbox.

A template may use the variables `name`, `fields` (the contact's fields)
and `messenger`, the filters in FILTERS, the tests in TESTS (defined,
undefined, none, boolean, true, false, integer, float, number, string,
lower, upper, sameas, in and the comparisons eq, ne, lt, le, gt, ge with
their word aliases), `if`/`elif`/`else`, comparisons, `~` and `+`/`-`.
Loops, macros, calls, includes, string multiplication or formatting, other
tests (`divisibleby`, `odd` and `even` compute `%`, which formats a
string) and a tree deeper than MAX_DEPTH or larger than MAX_NODES are
refused when the template is compiled: a rendering's work is then bounded
by the template's size, the node cap and the contact's fields. Only a
string, a number, a boolean or none prints: a method (`fields.items`) is
undefined, a container refused. A rendering must be storable as an input
text is (no lone surrogate) and hold no NUL.
"""

from jinja2 import StrictUndefined, TemplateError, Undefined, meta, nodes
from jinja2.sandbox import SandboxedEnvironment

from core.texts import unicode_problem

FILTERS = ("abs", "capitalize", "d", "default", "first", "float", "int", "last", "length", "lower",
           "round", "string", "title", "trim", "truncate", "upper")
# The symbol aliases (`==`, `<`, ...) name tests only for filters that take
# a test's name (select, reject), which a template cannot use.
TESTS = ("defined", "undefined", "none", "boolean", "true", "false", "integer", "float", "number",
         "string", "lower", "upper", "sameas", "in", "eq", "equalto", "ne", "lt", "lessthan", "le",
         "gt", "greaterthan", "ge")
# A real message nests a few ifs and a chain of filters (depth under 10) and
# names a few dozen variables (3 nodes each); 30 levels stay well below
# Python's own limits for the code Jinja2 generates (100 indents, 200 nested
# parentheses), and 1,000 nodes allow some 300 insertions.
MAX_DEPTH = 30
MAX_NODES = 1000
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
PRINTABLE = (str, int, float, type(None))


class TemplateRefused(ValueError):
    """A template that does not compile, is not allowed, or does not render for a contact."""


class _Sandbox(SandboxedEnvironment):
    """Jinja2's sandbox where a method is undefined: `fields.items` is the field `items` or nothing."""

    def getattr(self, obj, attribute):
        """An attribute that is not a method, else the item of that name."""
        value = super().getattr(obj, attribute)
        return self.getitem(obj, attribute) if _is_method(value) else value

    def getitem(self, obj, argument):
        """An item (or attribute) that is not a method, else undefined."""
        value = super().getitem(obj, argument)
        return self.undefined(obj=obj, name=argument) if _is_method(value) else value


def _is_method(value) -> bool:
    return callable(value) and not isinstance(value, Undefined)


def _printable(value):
    """A value to print: a string, number, boolean or none; an undefined raises its own error."""
    if isinstance(value, PRINTABLE + (Undefined,)):
        return value
    raise TemplateRefused(f"Prints a {type(value).__name__}; only strings, numbers, booleans and none print")


def _environment() -> SandboxedEnvironment:
    env = _Sandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True,
                   finalize=_printable)
    env.globals.clear()
    env.filters = {name: env.filters[name] for name in FILTERS}
    env.tests = {name: env.tests[name] for name in TESTS}
    return env


_ENV = _environment()


class MessageTemplate:
    """A text compiled once and rendered for each contact and messenger."""

    def __init__(self, text: str, max_length: int):
        try:
            tree = _ENV.parse(text)
            _check(tree)
            self._template = _ENV.from_string(tree)
        except TemplateRefused:
            raise
        except TemplateError as exc:
            raise TemplateRefused(_describe(exc)) from None
        except (RecursionError, SyntaxError, ValueError, MemoryError, OverflowError) as exc:
            # Python's own limits, met parsing or compiling: recursion, indentation, an integer's digits.
            raise TemplateRefused(f"Cannot be compiled: {_python_error(exc)}.") from None
        self._max = max_length
        self.variables = frozenset(meta.find_undeclared_variables(tree))

    def render(self, name: str, fields: dict, messenger: str) -> str:
        """The text for one contact over one messenger."""
        where = f"for contact {name!r} over {messenger}"
        try:
            text = self._template.render(name=name, fields=dict(fields), messenger=messenger)
        except TemplateRefused as exc:
            raise TemplateRefused(f"{exc} ({where}).") from None
        except TemplateError as exc:
            raise TemplateRefused(f"{_describe(exc)} ({where}).") from None
        except Exception as exc:
            # Whatever a filter or an operator raises on a contact's values
            # (truncate's AssertionError on a negative length, ...) is this
            # template's refusal for that contact.
            raise TemplateRefused(f"{_python_error(exc)} ({where}).") from None
        if not text.strip():
            raise TemplateRefused(f"Renders an empty text {where}.")
        if len(text) > self._max:
            raise TemplateRefused(f"Renders {len(text):,} characters {where}; at most {self._max:,}.")
        problem = unicode_problem(text)
        if problem:
            raise TemplateRefused(f"Renders {problem} {where}; a text must be Unicode.")
        if "\x00" in text:
            raise TemplateRefused(f"Renders a NUL character at position {text.index(chr(0))} {where}.")
        return text


def _check(tree):
    """Refuse a node not allowed, an attribute starting with _, or a tree too deep or too large."""
    count, pending = 0, [(tree, 1)]
    while pending:
        node, depth = pending.pop()
        count += 1
        if count > MAX_NODES:
            raise TemplateRefused(f"Too large: more than {MAX_NODES:,} parts (variables, filters, "
                                  "operators, texts between them) in a message template.")
        if depth > MAX_DEPTH:
            raise TemplateRefused(f"Line {node.lineno}: nested more than {MAX_DEPTH} levels deep "
                                  "in a message template.")
        if isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
            raise TemplateRefused(f"Line {node.lineno}: attributes starting with _ are not allowed "
                                  "in a message template.")
        if not isinstance(node, ALLOWED):
            what = REFUSED_NAMES.get(type(node), type(node).__name__)
            raise TemplateRefused(f"Line {node.lineno}: {what} not allowed in a message template "
                                  "(variables, filters, if/elif/else, comparisons and ~ are).")
        # Reversed, so that the first problem in the text is the one named.
        pending.extend((child, depth + 1) for child in reversed(list(node.iter_child_nodes())))


def _describe(exc) -> str:
    line = getattr(exc, "lineno", None)
    message = (exc.message or type(exc).__name__).rstrip(".")
    return f"Line {line}: {message}" if line else message[0].upper() + message[1:]


def _python_error(exc) -> str:
    """A Python exception as `Kind: message`, or its kind alone."""
    message = str(exc).rstrip(".")
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__
