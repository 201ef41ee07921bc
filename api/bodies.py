"""Request bodies read within limits: their size, and JSON's encoding, nesting and numbers.

Every route reads its body through these: the original API's through
Flask's `request.get_json` (the app's JSON provider), /api/v1's through
webargs (its parser), so a body too large, too deep or with a number too
long is a 4xx in the one error shape, never a 500 from the parser. A body
may be MAX_BODY_BYTES long, on a route marked with `body_limit` as long as
that route's own setting says. A contact import's list is read an item at
a time (json_list), within the same limits.
"""

import codecs
import json
import re

from flask import request
from flask.json.provider import DefaultJSONProvider
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import RequestEntityTooLarge

from api.errors import ApiError, error_body

# No body the API reads nests deeper than 3; Python's parser overflows its stack near 1,000.
MAX_DEPTH = 32
# The characters of one number: an int of 4,300 digits is beyond Python's own limit.
MAX_NUMBER_CHARS = 32


def parse_json(data):
    """A JSON document from a body's bytes (UTF-8 only); ApiError 400 saying what is wrong."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _invalid(f"The body is not UTF-8: byte {exc.object[exc.start]:#04x} "
                           f"at position {exc.start}.") from None
    try:
        value = json.loads(data, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise _invalid(f"The body is not JSON: {exc.msg} at position {exc.pos}.") from None
    except RecursionError:
        raise _too_deep() from None
    # Brackets bound the depth from above: only a body with many needs walking.
    if data.count("[") + data.count("{") > MAX_DEPTH:
        _check_depth(value)
    return value


def _invalid(message):
    return ApiError(400, message, {"json": [message]})


def _too_deep():
    return _invalid(f"The body nests deeper than {MAX_DEPTH} levels.")


def _number(text):
    if len(text) > MAX_NUMBER_CHARS:
        raise _invalid(f"A number in the body is longer than {MAX_NUMBER_CHARS} characters.")


def _int(text):
    _number(text)
    return int(text)


def _float(text):
    _number(text)
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _invalid(f"A number in the body is out of range: {text}.")
    return value


def _constant(name):
    raise _invalid(f"{name} is not a JSON number.")


def _check_depth(value):
    level = [value]
    for _ in range(MAX_DEPTH):
        level = [child for node in level if isinstance(node, (list, dict))
                 for child in (node.values() if isinstance(node, dict) else node)]
        if not level:
            return
    if any(isinstance(node, (list, dict)) for node in level):
        raise _too_deep()


# Bytes of a streamed body decoded at a time.
STREAM_CHUNK = 64 * 1024
# Characters one item of a streamed JSON list may take: ten times the longest
# contact, every character of it escaped (core/contacts.py's limits).
MAX_ITEM_CHARS = 1024 * 1024
_DECODER = json.JSONDecoder(parse_int=_int, parse_float=_float, parse_constant=_constant)
_SPACE = re.compile(r"[ \t\n\r]*")


def decoded(data: bytes):
    """A body's UTF-8 text, a piece at a time; UnicodeDecodeError with the offending byte's place in the body."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    for start in range(0, len(data) or 1, STREAM_CHUNK):
        pending = len(decoder.getstate()[0])
        try:
            yield decoder.decode(data[start:start + STREAM_CHUNK], final=start + STREAM_CHUNK >= len(data))
        except UnicodeDecodeError as exc:
            raise UnicodeDecodeError("utf-8", data, start - pending + exc.start, start - pending + exc.end,
                                     exc.reason) from None


class _Window:
    """A body's text from the item being read on: what is left of the read pieces, and more on demand."""

    def __init__(self, data):
        self._pieces = decoded(data)
        self.text, self.pos, self.offset, self.ended = "", 0, 0, False

    def more(self, wanted) -> bool:
        """Read until `wanted` characters lie past pos (or the body ends); False if none came."""
        self.offset += self.pos
        self.text, self.pos = self.text[self.pos:], 0
        before = len(self.text)
        pieces = [self.text]
        while not self.ended and sum(map(len, pieces)) < wanted:
            try:
                pieces.append(next(self._pieces))
            except StopIteration:
                self.ended = True
            except UnicodeDecodeError as exc:
                raise _invalid(f"The body is not UTF-8: byte {exc.object[exc.start]:#04x} "
                               f"at position {exc.start}.") from None
        self.text = "".join(pieces)
        return len(self.text) > before

    def skip_space(self) -> str:
        """The next character past white space ("" at the body's end)."""
        while True:
            self.pos = _SPACE.match(self.text, self.pos).end()
            if self.pos < len(self.text) or not self.more(STREAM_CHUNK):
                return self.text[self.pos:self.pos + 1]


def json_list(data: bytes, not_a_list):
    """The items of a body that is a JSON list, one at a time, parsed as parse_json does.

    Reads no more of the body than the items asked for, so memory is bounded by
    MAX_ITEM_CHARS, not by the body. A body that is no list raises
    not_a_list(); an item longer than MAX_ITEM_CHARS is a 400.
    """
    window = _Window(data)
    if window.skip_space() != "[":
        raise not_a_list()
    window.pos += 1
    if window.skip_space() == "]":
        window.pos += 1
    else:
        while True:
            yield _item(window)
            following = window.skip_space()
            window.pos += 1
            if following == "]":
                break
            if following != ",":
                raise _invalid(f"The body is not JSON: expecting ',' delimiter at position "
                               f"{window.offset + window.pos - 1}.")
    if window.skip_space():
        raise _invalid(f"The body is not JSON: extra data at position {window.offset + window.pos}.")


def _item(window):
    """The JSON value at the window's place, read whole: the window grows until it holds it and what follows."""
    window.skip_space()
    wanted = STREAM_CHUNK
    while True:
        try:
            value, end = _DECODER.raw_decode(window.text, window.pos)
        except json.JSONDecodeError as exc:
            if window.ended:
                raise _invalid(f"The body is not JSON: {exc.msg} at position {window.offset + exc.pos}.") from None
            value, end = None, len(window.text)
        except RecursionError:
            raise _too_deep() from None
        # A number cut off where the read text ends parses, as a shorter one: what follows must be in.
        if window.ended or _SPACE.match(window.text, end).end() < len(window.text):
            break
        if len(window.text) - window.pos > MAX_ITEM_CHARS:
            raise _invalid(f"An item of the list at position {window.offset + window.pos} is longer "
                           f"than {MAX_ITEM_CHARS:,} characters.")
        wanted *= 2
        window.more(wanted)
    _check_depth([value])
    window.pos = end
    return value


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, reading request bodies with parse_json."""

    def loads(self, s, **kwargs):
        """A request body's JSON, within the limits."""
        return parse_json(s)


class Parser(FlaskParser):
    """webargs' Flask parser, reading JSON bodies with parse_json (through Flask's cache)."""

    def _raw_load_json(self, req):
        if not is_json_request(req) or not req.get_data(cache=True):
            return core.missing
        return req.get_json()


# Bytes of a body left unread taken and dropped at a time.
DRAIN_CHUNK = 64 * 1024


def _reading_to_the_end(wsgi_app, most):
    """wsgi_app, reading what is left of each body, up to the most any route takes, before it answers.

    gunicorn closing a connection with a body unread resets it, and a proxy
    still sending that body loses the answer (a 413, a 401) to the reset and
    answers 502 itself (benoitc/gunicorn#872). A body longer than any route
    takes is left unread: its sender is not a proxy of ours.
    """
    def app(environ, start_response):
        try:
            return wsgi_app(environ, start_response)
        finally:
            length = environ.get("CONTENT_LENGTH")
            if not (length and length.isdigit() and int(length) > most):
                stream, left = environ["wsgi.input"], most + 1
                while left > 0 and (chunk := stream.read(min(DRAIN_CHUNK, left))):
                    left -= len(chunk)
    return app


# The view attribute body_limit sets: the name of the Config field bounding the view's bodies.
LIMIT_ATTRIBUTE = "body_limit_setting"
DEFAULT_SETTING = "max_body_bytes"


def body_limit(setting):
    """Bound a view's (a function's or MethodView class's) bodies by this Config field, not MAX_BODY_BYTES."""
    def mark(view):
        setattr(view, LIMIT_ATTRIBUTE, setting)
        return view
    return mark


def init_app(app, config):
    """Bound the app's request bodies: a longer one is a 413, before any of it is read if its length is sent."""
    # Werkzeug stops reading a body sent without a length (chunked) at this,
    # quietly: one byte past the limit tells such a body from one at it.
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes + 1
    app.json = JSONProvider(app)
    app.wsgi_app = _reading_to_the_end(app.wsgi_app, max(config.max_body_bytes, config.max_import_bytes))

    def limit():
        """The body limit of the request's route in bytes, and the variable that sets it."""
        view = app.view_functions.get(request.endpoint)
        setting = getattr(getattr(view, "view_class", view), LIMIT_ATTRIBUTE, DEFAULT_SETTING)
        return getattr(config, setting), setting.upper()

    # An app's hooks run before its blueprints': before authentication.
    @app.before_request
    def _refuse_oversized():
        size, _ = limit()
        # The route's own in place of the app's, one byte past it as there.
        request.max_content_length = size + 1
        length = request.content_length
        if length is None:
            length = len(request.get_data(cache=True))
        if length > size:
            raise RequestEntityTooLarge()

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(err):
        size, variable = limit()
        return error_body(413, f"The request body is larger than {size} bytes, this route's limit "
                               f"({variable})."), 413
