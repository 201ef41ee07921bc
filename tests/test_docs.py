"""The docs site: it builds with --strict, and its generated references hold every CLI command,
every /api/v1 operation and every setting, compared with click's tree, the app's OpenAPI
document and Config's fields, so that a reference that drifts from the code fails here."""

import html
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import fields

import click
import pytest

from api import create_app
from console.app import main
from core import statuses
from core.config import Config, ConfigError
from helpers import ROOT, free_ports
from workers.webhook_post import signature

HEADING = re.compile(r'<h([1-6]) id="([^"]+)">(.*?)<a class="headerlink"', re.DOTALL)
ROW = re.compile(r"<tr>(.*?)</tr>", re.DOTALL)
CELL = re.compile(r"<td>(.*?)</td>", re.DOTALL)
METHODS = ("get", "post", "put", "patch", "delete")


def text_of(fragment: str) -> str:
    """An HTML fragment's text, tags dropped and entities read."""
    return html.unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site built as `make test` builds it: strict, so any warning fails."""
    out = tmp_path_factory.mktemp("site")
    run = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                         cwd=ROOT, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "WARNING" not in run.stderr, run.stderr
    return out


def page(site, name) -> str:
    """A built page's HTML, by its path in the site."""
    return (site / name / "index.html").read_text(encoding="utf-8")


def headings(site, name) -> dict:
    """{heading text: level} of a built page."""
    return {text_of(title): int(level) for level, _, title in HEADING.findall(page(site, name))}


def click_commands(command=main, path=()):
    """Every visible command's path below the root, read from click's own tree."""
    if isinstance(command, click.Group):
        ctx = click.Context(command)
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if not sub.hidden:
                yield (*path, name)
                yield from click_commands(sub, (*path, name))


def test_the_cli_reference_has_every_command_with_its_usage(site):
    built, found = page(site, "reference/cli"), headings(site, "reference/cli")
    commands = list(click_commands())
    assert len(commands) > 40
    for path in commands:
        title = " ".join(path)
        assert found.get(title) == min(len(path) + 1, 6), title
        assert f"Usage: python cli.py {title} [OPTIONS]" in html.unescape(built), title
    assert set(found) - {" ".join(path) for path in commands} <= {"Command line reference"}


def served_spec():
    """The document the app serves at /api/openapi.json (test_openapi.py holds the live stack to it)."""
    app = create_app(Config(**dict(zip(("redis_port", "mongo_port"), free_ports(2), strict=True))))
    return app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()


def test_the_http_reference_has_every_operation_and_schema_of_the_served_document(site):
    spec, found = served_spec(), headings(site, "reference/http-api")
    operations = [f"{method.upper()} {path}" for path, item in spec["paths"].items()
                  for method in METHODS if method in item]
    assert all(path.startswith("/api/v1/") for path in spec["paths"])
    assert len(operations) > 30
    for operation in operations:
        assert found.get(operation) == 3, operation
    for schema in spec["components"]["schemas"]:
        assert found.get(schema) == 3, schema
    # Each operation's parameters are named in its section.
    built = html.unescape(page(site, "reference/http-api"))
    for item in spec["paths"].values():
        for parameter in item.get("parameters", []):
            assert f"{parameter['name']}" in built


def settings_rows(site) -> dict:
    """{variable: [type, default, accepts, meaning]} from the built settings table."""
    rows = {}
    for row in ROW.findall(page(site, "reference/settings")):
        cells = [text_of(cell) for cell in CELL.findall(row)]
        if cells:
            rows[cells[0]] = cells[1:]
    return rows


def refused(name, value) -> bool:
    """Whether Config refuses this value for the setting."""
    try:
        Config(**{name: value})
    except ConfigError:
        return True
    return False


def test_the_settings_reference_has_every_setting_with_its_default_and_limits(site):
    rows = settings_rows(site)
    assert set(rows) == {f.name.upper() for f in fields(Config)}
    for f in fields(Config):
        kind, default, accepts, meaning = rows[f.name.upper()]
        assert meaning, f.name
        if f.default == "":
            assert default.startswith("empty"), (f.name, default)
        else:
            assert default == (str(f.default).lower() if f.type is bool else str(f.default)), (f.name, default)
        # Whatever Config refuses beyond its type, the reference says what it accepts instead.
        probe = {int: -1, float: -1.0, str: "\x00not one of them"}.get(f.type)
        if probe is not None and refused(f.name, probe):
            assert accepts, f.name
    assert "VISIBILITY_TIMEOUT" in rows["SCHEDULE_HORIZON"][2]


def test_the_statuses_page_draws_and_explains_every_status(site):
    built = page(site, "concepts/statuses")
    [diagram] = re.findall(r'<pre class="mermaid"><code>(.*?)</code></pre>', built, re.DOTALL)
    drawn = set(re.findall(r"(\w+) --> (\w+)", html.unescape(diagram)))
    states = {state for edge in drawn for state in edge} - {"*"}
    assert states == set(statuses.STATUSES)
    for new, olds in statuses.RECEIPT_STEPS.items():
        assert {(old, new) for old in olds} <= drawn
    explained = {cells[0] for cells in ([text_of(c) for c in CELL.findall(row)] for row in ROW.findall(built))
                 if cells}
    assert set(statuses.STATUSES) <= explained


def signature_snippet(language) -> str:
    """The receipts-and-webhooks page's signature check in that language, as written there."""
    text = (ROOT / "docs" / "guides" / "receipts-and-webhooks.md").read_text(encoding="utf-8")
    [code] = re.findall(rf"^<!-- signature: {language} -->\n```{language}\n(.*?)^```$", text,
                        re.MULTILINE | re.DOTALL)
    return code


def signed_cases(now):
    """(secret, header, body, whether a receiver must accept it), signed as the service signs."""
    body = json.dumps({"id": "evt_1", "type": "delivery.sent", "data": {"text": "Привет"}}).encode()
    good = signature("s3cret", now, body)
    return [("s3cret", good, body, True),
            ("s3cret", good, body + b" ", False),
            ("another", good, body, False),
            ("s3cret", signature("s3cret", now - 3600, body), body, False)]


def test_the_python_signature_check_accepts_what_the_service_signs_and_nothing_else():
    scope = {}
    exec(signature_snippet("python"), scope)
    cases = signed_cases(int(time.time()))
    verdicts = [scope["verified"](secret, header, body) for secret, header, body, _ in cases]
    assert verdicts == [ok for *_, ok in cases]


def test_the_javascript_signature_check_accepts_what_the_service_signs_and_nothing_else():
    cases = signed_cases(int(time.time()))
    calls = [f"verified({json.dumps(secret)}, {json.dumps(header)}, Buffer.from('{body.hex()}', 'hex'))"
             for secret, header, body, _ in cases]
    driver = signature_snippet("javascript") + "".join(f"\nconsole.log({call});" for call in calls)
    run = subprocess.run(["node", "-e", driver], capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == [json.dumps(ok) for *_, ok in cases]


def test_no_page_points_outside_the_repository():
    for path in [*(ROOT / "docs").rglob("*.md"), ROOT / "README.md"]:
        text = path.read_text(encoding="utf-8")
        assert "shared/" not in text and "SPEC" not in text, path
        assert not re.search(r"\b[Ii]ssue \d+", text), path


def test_the_readme_links_only_to_files_in_the_repository():
    # The site's build checks the pages' links; the README is not part of it.
    links = re.findall(r"\]\(([^)\s]+)\)", (ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(links) > 10
    for link in links:
        assert (ROOT / link).exists(), link
