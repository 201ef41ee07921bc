"""docker-compose.yml is valid and describes the production stack (no engine needed)."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from core.config import Config

ROOT = Path(__file__).resolve().parent.parent
APP = {"gateway", "api", "worker", "webhooks", "scheduler", "poller", "flower"}
SERVICES = APP | {"mongo", "redis", "proxy"}
# PyYAML is not a dependency of the service; docker-compose's own interpreter has it.
YAML_TO_JSON = "import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)"
# Settings whose values are secrets: in the compose file only as ${...} from .env.
SECRET = re.compile(r"PASSWORD|TOKEN|SECRET|BASIC_AUTH|REDISCLI_AUTH")
REFERENCE = re.compile(r"\$\{[A-Z0-9_]+(:?[?-][^}]*)?\}")
# Values the test's .env gives, each one findable where compose must put it.
SECRETS = {
    "REDIS_PASSWORD": "redis0a1b2c3d4e5f", "MONGO_ROOT_PASSWORD": "root0a1b2c3d4e5f",
    "MONGO_APP_USER": "appuser7", "MONGO_APP_PASSWORD": "mongo0a1b2c3d4e5f",
    "FLOWER_BASIC_AUTH": "ops:flower0a1b2c3d", "TELEGRAM_BOT_TOKEN": "42:tg0a1b2c3d",
    "WHATSAPP_TOKEN": "wa0a1b2c3d", "VIBER_AUTH_TOKEN": "vb0a1b2c3d",
    "WHATSAPP_APP_SECRET": "was0a1b2c3d", "WHATSAPP_VERIFY_TOKEN": "wav0a1b2c3d",
}


def compose(env_file, *args):
    """Run docker-compose on the project's file with this env file; the finished process."""
    return subprocess.run(
        ["docker-compose", "--env-file", str(env_file), "-f", "docker-compose.yml", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin"},
    )


def load_yaml(text):
    """Parse YAML with the Python that docker-compose itself runs on."""
    script = Path(shutil.which("docker-compose"))
    interpreter = script.read_text(errors="replace").splitlines()[0].removeprefix("#!").split()
    done = subprocess.run([*interpreter, "-c", YAML_TO_JSON], input=text, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def env_file_with(path, changes):
    """.env.example with some values replaced, written to path."""
    lines = []
    for line in (ROOT / ".env.example").read_text().splitlines():
        name = line.split("=", 1)[0]
        lines.append(f"{name}={changes[name]}" if not line.startswith("#") and name in changes else line)
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def env_file(tmp_path_factory):
    """A .env made from .env.example with the test's own secrets."""
    return env_file_with(tmp_path_factory.mktemp("compose") / ".env", SECRETS)


@pytest.fixture(scope="module")
def resolved(env_file):
    """The compose file as docker-compose resolves it with that .env."""
    done = compose(env_file, "config")
    assert done.returncode == 0, done.stderr
    return load_yaml(done.stdout)


@pytest.fixture(scope="module")
def raw():
    """The compose file as written."""
    return load_yaml((ROOT / "docker-compose.yml").read_text())


def mounts(service):
    """A service's bind mounts and volumes: {target in the container: source}."""
    return {target: source for source, target, *_ in (v.split(":") for v in service["volumes"])}


def command_text(service):
    command = service["command"]
    return " ".join(command) if isinstance(command, list) else command


def test_config_is_valid_with_the_example_env(tmp_path):
    example = tmp_path / ".env"
    shutil.copy(ROOT / ".env.example", example)
    done = compose(example, "config", "-q")
    assert done.returncode == 0, done.stderr


def test_config_refuses_to_start_without_the_secrets(tmp_path):
    empty = tmp_path / ".env"
    empty.write_text("")
    done = compose(empty, "config", "-q")
    assert done.returncode != 0
    assert re.search(r"set [A-Z_]+ in \.env", done.stderr), done.stderr


def test_all_services_present_and_the_gateway_only_in_dev(resolved, raw):
    assert set(resolved["services"]) == SERVICES
    profiled = {name for name, service in raw["services"].items() if service.get("profiles")}
    assert profiled == {"gateway", "poller"}
    assert raw["services"]["gateway"]["profiles"] == ["dev"]
    assert raw["services"]["poller"]["profiles"] == ["poll"]
    # A default `up` must not wait for a service it does not start.
    for name, service in resolved["services"].items():
        assert "gateway" not in service.get("depends_on", {}), name


def test_no_literal_secret_in_the_compose_file(raw):
    for name, service in raw["services"].items():
        environment = service.get("environment", {})
        for variable, value in environment.items():
            if SECRET.search(variable):
                assert REFERENCE.fullmatch(str(value)), f"{name}: {variable} is not taken from .env"
            for credentials in re.findall(r"://(.*)@", str(value)):
                assert REFERENCE.sub("", credentials) in ("", ":"), f"{name}: {variable} holds literal credentials"
        command = service.get("command", [])
        for flag, value in zip(command, command[1:], strict=False):
            if flag == "--requirepass":
                assert REFERENCE.fullmatch(value), f"{name}: the Redis password is not taken from .env"
    assert "change-me" not in (ROOT / "docker-compose.yml").read_text()


def test_secrets_from_env_reach_where_they_are_used(resolved):
    services = resolved["services"]
    redis_password, app_user, app_password = (SECRETS[k] for k in
                                              ("REDIS_PASSWORD", "MONGO_APP_USER", "MONGO_APP_PASSWORD"))
    for name in APP:
        env = services[name]["environment"]
        assert env["REDIS_URL"] == f"redis://:{redis_password}@redis:6379/0", name
        assert env["MONGO_URL"].startswith(f"mongodb://{app_user}:{app_password}@mongo:27017/dispatcher"), name
        assert env["GATEWAY_URL"] == "http://gateway:8081", name
        assert env["TELEGRAM_BOT_TOKEN"] == SECRETS["TELEGRAM_BOT_TOKEN"], name
        assert env["WHATSAPP_TOKEN"] == SECRETS["WHATSAPP_TOKEN"], name
        assert env["VIBER_AUTH_TOKEN"] == SECRETS["VIBER_AUTH_TOKEN"], name
        assert env["WHATSAPP_APP_SECRET"] == SECRETS["WHATSAPP_APP_SECRET"], name
        assert env["WHATSAPP_VERIFY_TOKEN"] == SECRETS["WHATSAPP_VERIFY_TOKEN"], name
    assert f"--requirepass {redis_password}" in command_text(services["redis"])
    mongo = services["mongo"]["environment"]
    assert mongo["MONGO_INITDB_ROOT_PASSWORD"] == SECRETS["MONGO_ROOT_PASSWORD"]
    assert (mongo["MONGO_APP_USER"], mongo["MONGO_APP_PASSWORD"]) == (app_user, app_password)
    assert services["flower"]["environment"]["FLOWER_BASIC_AUTH"] == SECRETS["FLOWER_BASIC_AUTH"]


def test_mongo_creates_the_application_user_once(resolved):
    init = mounts(resolved["services"]["mongo"])["/docker-entrypoint-initdb.d"]
    script = "".join(path.read_text() for path in Path(init).glob("*.js"))
    assert "createUser" in script
    for variable in ("MONGO_APP_USER", "MONGO_APP_PASSWORD", "MONGO_DB"):
        assert f"process.env.{variable}" in script


def test_redis_keeps_everything_and_needs_a_password(resolved):
    command = command_text(resolved["services"]["redis"])
    assert "--appendonly yes" in command
    assert "--appendfsync everysec" in command
    assert "--maxmemory-policy noeviction" in command
    assert re.search(r"--maxmemory \d+[kmg]b", command)
    assert "--requirepass " in command


def test_every_image_is_pinned_to_major_minor(resolved):
    for name, service in resolved["services"].items():
        if "build" in service:
            continue
        image = service["image"]
        assert re.fullmatch(r"[a-z0-9./-]+:\d+\.\d+[\w.-]*", image), f"{name}: {image} is not pinned"


def test_only_the_proxy_publishes_a_port(resolved):
    published = {name for name, service in resolved["services"].items() if service.get("ports")}
    assert published == {"proxy"}
    # Nothing that would clash between replicas of `--scale api=3 --scale worker=4`.
    assert not any("container_name" in service for service in resolved["services"].values())
    assert [p["target"] for p in resolved["services"]["proxy"]["ports"]] == [80]


def test_the_fake_gateway_sends_its_receipts_through_the_proxy(resolved):
    assert resolved["services"]["gateway"]["environment"]["GATEWAY_RECEIPTS_URL"] == "http://proxy"
    for name in APP - {"gateway"}:
        assert "GATEWAY_RECEIPTS_URL" not in resolved["services"][name]["environment"], name


def test_proxy_serves_the_template_for_api_and_flower(resolved):
    proxy = resolved["services"]["proxy"]
    template = mounts(proxy)["/etc/nginx/templates/default.conf.template"]
    assert template == str(ROOT / "deploy" / "nginx.conf.template")
    assert proxy["environment"]["API_UPSTREAM"] == "api:8080"
    assert proxy["environment"]["FLOWER_UPSTREAM"] == "flower:5555"
    assert "--url_prefix=flower" in command_text(resolved["services"]["flower"])


@pytest.mark.parametrize("name", ["MAX_BODY_BYTES", "MAX_IMPORT_BYTES"])
def test_the_proxy_and_the_api_share_the_body_limits(resolved, raw, name):
    default = getattr(Config(), name.lower())
    for service in ("proxy", "api"):
        assert raw["services"][service]["environment"][name] == f"${{{name}:-{default}}}"
        assert resolved["services"][service]["environment"][name] == str(default)


def test_healthchecks_mean_ready(resolved):
    services = resolved["services"]
    assert "PONG" in " ".join(services["redis"]["healthcheck"]["test"])
    assert "/readyz" in " ".join(services["api"]["healthcheck"]["test"])
    assert services["proxy"]["depends_on"]["api"]["condition"] == "service_healthy"
    for name in ("api", "worker", "webhooks", "scheduler"):
        for store in ("mongo", "redis"):
            assert services[name]["depends_on"][store]["condition"] == "service_healthy", name


def test_every_service_restarts_rotates_logs_and_has_a_memory_limit(resolved):
    for name, service in resolved["services"].items():
        assert service["restart"] == "unless-stopped", name
        assert service["logging"]["driver"] == "json-file", name
        assert set(service["logging"]["options"]) == {"max-size", "max-file"}, name
        assert service.get("mem_limit"), name
