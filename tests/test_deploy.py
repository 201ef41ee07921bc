"""The image and the proxy: what the Dockerfile copies and pins, what the runtime needs, nginx's config."""

import ast
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from stack import proxy
from test_compose import compose, env_file_with, load_yaml

ROOT = Path(__file__).resolve().parent.parent
# What the image runs: gunicorn's app, Celery's app and the tasks it loads
# by name, the scheduler, the CLI, the fake gateway.
ENTRY_POINTS = ("api", "workers.celery_app", "workers.tasks", "workers.scheduler", "cli", "fake_gateway.__main__")
DEV_TOOLS = ("pytest", "schemathesis", "hypothesis", "secantusdb")
PINNED = re.compile(r"[A-Za-z0-9_.\[\],-]+==[\w.]+")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def module_file(name):
    """The file of the repository's module `name`, or None if it is not one of ours."""
    base = ROOT.joinpath(*name.split("."))
    return next((f for f in (base.with_suffix(".py"), base / "__init__.py") if f.is_file()), None)


def imported_modules(tree, package):
    """Every module name an import statement of tree names, with its parents."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module
            if node.level:
                parts = package.split(".")
                module = ".".join(parts[:len(parts) - node.level + 1] + ([module] if module else []))
            names = [module, *(f"{module}.{alias.name}" for alias in node.names)]
        else:
            continue
        for name in names:
            parts = name.split(".")
            yield from (".".join(parts[:i]) for i in range(1, len(parts) + 1))


def top_level_packages(entry):
    """The repository's top-level packages and modules that entry imports, transitively."""
    seen, todo = set(), [entry]
    while todo:
        name = todo.pop()
        path = module_file(name)
        if name in seen or path is None:
            continue
        seen.add(name)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        todo.extend(imported_modules(ast.parse(path.read_text()), package))
    return {name.split(".")[0] for name in seen}


def dockerfile():
    return (ROOT / "Dockerfile").read_text()


def requirement_lines(name):
    return [line.split("#")[0].strip() for line in (ROOT / name).read_text().splitlines()
            if line.split("#")[0].strip()]


def test_every_base_image_is_pinned_to_major_minor():
    bases = re.findall(r"^FROM\s+(\S+)", dockerfile(), re.MULTILINE)
    assert bases
    for base in bases:
        assert re.fullmatch(r"[a-z0-9./-]+:\d+\.\d+[\w.-]*", base), f"{base} is not pinned"


def test_the_image_runs_as_a_user_not_root():
    users = re.findall(r"^USER\s+(\S+)", dockerfile(), re.MULTILINE)
    assert users and users[-1] not in ("root", "0")


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_every_package_an_entry_point_imports_is_in_the_image(entry):
    copied = {Path(source).stem for source in re.findall(r"^COPY\s+(?!--from)(\S+)\s", dockerfile(), re.MULTILINE)}
    needed = top_level_packages(entry)
    assert entry.split(".")[0] in needed
    assert needed <= copied, f"{entry} imports {sorted(needed - copied)}, which the Dockerfile does not copy"


def test_the_cli_needs_console():
    # The import walk must see through cli.py: the first user is made with it.
    assert {"cli", "console", "core"} <= top_level_packages("cli")


def test_dockerignore_keeps_local_state_out_of_the_build():
    ignored = {line.strip().rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert {".venv", ".git", "var", ".env", ".pytest_cache"} <= ignored


def test_runtime_requirements_hold_no_dev_tool_and_every_line_is_pinned():
    runtime = requirement_lines("requirements.txt")
    names = {re.split(r"[=\[<>]", line)[0].lower() for line in runtime}
    assert not names & set(DEV_TOOLS)
    for line in runtime:
        assert PINNED.fullmatch(line), f"requirements.txt: {line} is not pinned"


def test_dev_requirements_add_the_tools_to_the_runtime_ones():
    dev = requirement_lines("requirements-dev.txt")
    assert dev[0] == "-r requirements.txt"
    for line in dev[1:]:
        assert PINNED.fullmatch(line), f"requirements-dev.txt: {line} is not pinned"
    assert set(DEV_TOOLS) <= {line.split("==")[0].lower() for line in dev[1:]}


def test_the_makefile_installs_the_dev_requirements_when_either_file_changes():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^\$\(STAMP\): requirements\.txt requirements-dev\.txt$", makefile, re.MULTILINE)
    assert "pip install -q -r requirements-dev.txt" in makefile


def test_nginx_accepts_the_config_compose_mounts(tmp_path):
    done = compose(env_file_with(tmp_path / ".env", {}), "config")
    assert done.returncode == 0, done.stderr
    service = load_yaml(done.stdout)["services"]["proxy"]
    template = next(source for source, target, *_ in (v.split(":") for v in service["volumes"])
                    if target.startswith("/etc/nginx/templates/"))
    values = {name: service["environment"][name] for name in proxy.NAMES}
    server_conf = tmp_path / "default.conf"
    server_conf.write_text(proxy.render_template(values, template))
    main = tmp_path / "nginx.conf"
    main.write_text(proxy.main_config(tmp_path, server_conf))
    for name in proxy.TEMP_DIRS:
        (tmp_path / "temp" / name).mkdir(parents=True)
    checked = subprocess.run([NGINX, "-t", "-e", "stderr", "-p", str(tmp_path), "-c", str(main)],
                             capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    assert "syntax is ok" in checked.stderr


def test_the_proxy_finds_every_api_replica_again_and_again():
    rendered = proxy.render_template(dict.fromkeys(proxy.NAMES, "api:8080"))
    # Docker's DNS, re-read while running: a name in a variable is resolved per request.
    assert re.search(r"^\s*resolver 127\.0\.0\.11 valid=\d+s", rendered, re.MULTILINE)
    assert re.search(r"^\s*set \$api_upstream http://api:8080;", rendered, re.MULTILINE)
    assert re.search(r"^\s*proxy_pass \$api_upstream;", rendered, re.MULTILINE)


def test_the_template_leaves_nothing_unfilled():
    values = dict.fromkeys(proxy.NAMES, "1")
    assert "${" not in proxy.render_template(values)
    with pytest.raises(ValueError, match="API_UPSTREAM"):
        proxy.render_template({k: v for k, v in values.items() if k != "API_UPSTREAM"})
