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

That bound holds only where each operation costs by the size of its
operands, never by their value. Of the filters, only `round` did not: an
integer rounded to precision -10,000,000 (or any number with `ceil` or
`floor` at 10,000,000) computes a power of ten of that many digits,
seconds holding the GIL (at compile time too, where Jinja2's optimizer,
off here, folds a constant filter). Its precision is kept within
ROUND_PRECISION. The others cost by
their input's length: `truncate` slices (length and leeway only compare),
`int` parses at most Python's 4,300 digits in a base not a power of two
(sys.int_max_str_digits) and `string` prints no more, `first`, `last`,
`length`, `default`, `abs` and the case filters are linear or constant.
So are the operators left: `+`, `-`, `~`, unary minus, comparisons, `in`
and indexing or slicing (whose step only selects) on values no larger
than the text, the fields and the few hundred nodes combining them.

Each operation being bounded, a rendering's CPU time is checked after it:
past `each` seconds, or past `total` for all of a template's renderings
together, the template is refused (MessageTemplate).
"""

import gc
import threading
import time

from jinja2 import StrictUndefined, TemplateError, Undefined, filters, nodes
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
# Digits either side of the point that `round` may keep: a float holds 17
# significant ones, and 10**15 is computed in a microsecond.
ROUND_PRECISION = 15


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


def _round(value, precision=0, method="common"):
    """Jinja2's round, refusing a precision past ROUND_PRECISION: 10**precision grows with its value."""
    if isinstance(precision, int) and abs(precision) > ROUND_PRECISION:
        # A precision of thousands of digits is not printed whole.
        shown = f"{precision:,}" if precision.bit_length() <= 64 else "a larger number"
        raise TemplateRefused(f"round's precision must be from -{ROUND_PRECISION} to {ROUND_PRECISION}, "
                              f"not {shown}")
    return filters.do_round(value, precision, method)


# Filters whose cost grows with an argument's value, in their bounded versions.
BOUNDED = {"round": _round}


def _environment() -> SandboxedEnvironment:
    # Unoptimized: Jinja2's optimizer evaluates constant filters while it
    # compiles, and tries again at each level of a chain of them (a cube
    # of its depth: 1.6 s for 14 chains of 25 filters).
    env = _Sandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True,
                   finalize=_printable, optimized=False)
    env.globals.clear()
    env.filters = {name: BOUNDED.get(name, env.filters[name]) for name in FILTERS}
    env.tests = {name: env.tests[name] for name in TESTS}
    return env


_ENV = _environment()


class _Collections(threading.local):
    """CPU seconds this thread spent collecting garbage, and when the collection under way began."""

    spent = 0.0
    began = None


_COLLECTIONS = _Collections()


def _time_collection(phase, _info):
    # A collection runs in whichever thread allocated last: its pause is
    # the heap's, not the template's, and must not refuse a send.
    if phase == "start":
        _COLLECTIONS.began = time.thread_time()
    elif _COLLECTIONS.began is not None:
        _COLLECTIONS.spent += time.thread_time() - _COLLECTIONS.began
        _COLLECTIONS.began = None


gc.callbacks.append(_time_collection)


def _cpu() -> float:
    """This thread's CPU seconds, less those it spent collecting garbage."""
    return time.thread_time() - _COLLECTIONS.spent


class MessageTemplate:
    """A text compiled once and rendered for each contact and messenger.

    `each` bounds one rendering's CPU seconds, `total` those of compiling
    and every rendering together; None, no bound.
    """

    def __init__(self, text: str, max_length: int, each: float = None, total: float = None):
        started = _cpu()
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
        # Every name a template reads is a variable: none can be assigned
        # (meta.find_undeclared_variables would generate the code again).
        self.variables = frozenset(node.name for node in tree.find_all(nodes.Name))
        self._each, self._total = each, total
        self._renderings, self._spent = 0, _cpu() - started

    def render(self, name: str, fields: dict, messenger: str) -> str:
        """The text for one contact over one messenger; refused past the CPU budget.

        A rendering cannot be stopped midway, but each operation in it is
        bounded by value (see the module's docstring), so one rendering
        costs a bounded time and checking the clock after each is enough
        to stop a send's rendering within a rendering of its budget.
        """
        where = f"for contact {name!r} over {messenger}"
        started = _cpu()
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
        self._charge(_cpu() - started, where)
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

    def _charge(self, seconds, where):
        """Count a rendering's CPU time; TemplateRefused past either budget."""
        self._renderings += 1
        self._spent += seconds
        if self._each is not None and seconds > self._each:
            raise TemplateRefused(f"Took {seconds * 1000:,.0f} ms of CPU to render {where}; at most "
                                  f"{self._each * 1000:,.0f} ms a rendering.")
        if self._total is not None and self._spent > self._total:
            raise TemplateRefused(f"Took more than {self._total:g} s of CPU to render for this send "
                                  f"({self._renderings:,} renderings, stopped {where}); send to fewer "
                                  "contacts at once, or simplify the template.")


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
