"""docker-compose.yml is valid and describes the production stack (no engine needed)."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SERVICES = {"mongo", "redis", "gateway", "api", "worker", "scheduler", "flower"}
# PyYAML is not a dependency of the service; docker-compose's own interpreter has it.
YAML_TO_JSON = "import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)"


def compose(*args):
    """Run docker-compose on the project's file; the finished process."""
    return subprocess.run(
        ["docker-compose", "-f", "docker-compose.yml", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )


def load_yaml(text):
    """Parse YAML with the Python that docker-compose itself runs on."""
    script = Path(shutil.which("docker-compose"))
    interpreter = script.read_text(errors="replace").splitlines()[0].removeprefix("#!").split()
    done = subprocess.run([*interpreter, "-c", YAML_TO_JSON], input=text, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def resolved():
    """The compose file as docker-compose resolves it."""
    done = compose("config")
    assert done.returncode == 0, done.stderr
    return load_yaml(done.stdout)


def test_config_is_valid():
    done = compose("config", "-q")
    assert done.returncode == 0, done.stderr


def test_all_services_present(resolved):
    assert set(resolved["services"]) == SERVICES


def test_redis_keeps_everything(resolved):
    command = resolved["services"]["redis"]["command"]
    command = " ".join(command) if isinstance(command, list) else command
    assert "--appendonly yes" in command
    assert "--appendfsync everysec" in command
    assert "--maxmemory-policy noeviction" in command


def test_app_services_share_settings_and_restart(resolved):
    for name in SERVICES - {"mongo", "redis"}:
        service = resolved["services"][name]
        assert service["environment"]["REDIS_URL"] == "redis://redis:6379/0", name
        assert service["environment"]["MONGO_URL"] == "mongodb://mongo:27017/", name
        assert service["environment"]["GATEWAY_URL"] == "http://gateway:8081", name
    for name in SERVICES:
        assert resolved["services"][name]["restart"] == "unless-stopped", name


def test_published_ports(resolved):
    published = {
        name: {port["published"] for port in service.get("ports", [])}
        for name, service in resolved["services"].items()
    }
    assert published["api"] == {8080}
    assert published["flower"] == {5555}
