"""Fixtures for running `python cli.py` as alice against a stack, and a helper reading its tables.

A plugin (conftest.py's `pytest_plugins`): a module whose tests request
`cli` gets these, on whichever `stack` that module provides.
"""

import pytest
from click.testing import CliRunner

from console.app import main
from core.clients import mongo_database
from core.users import UserStore

# The environment variables the CLI reads, unset: a developer's own never reach a test.
CLEAR = {"DISPATCHER_URL": None, "DISPATCHER_TOKEN": None, "DISPATCHER_CONFIG": None,
         "DISPATCHER_TIMEOUT": None}


@pytest.fixture
def users(stack):
    """The stack's user store."""
    return UserStore(mongo_database(stack.config))


@pytest.fixture
def token(users):
    """A token of the user alice."""
    return users.create_user("alice")


@pytest.fixture
def config_file(tmp_path):
    """Where login saves, for this test only."""
    return tmp_path / "dispatcher" / "config.json"


@pytest.fixture
def cli(stack, token, config_file):
    """Run `python cli.py ARGS` as alice against the stack (server and token from the environment)."""
    env = {**CLEAR, "DISPATCHER_URL": stack.api_url, "DISPATCHER_TOKEN": token,
           "DISPATCHER_CONFIG": str(config_file)}

    def run(*args, input=None, **changes):
        return CliRunner().invoke(main, list(args), input=input, env={**env, **changes},
                                  prog_name="python cli.py")
    return run


def lines(result):
    """stdout's lines, each with its columns split on runs of spaces."""
    return [line.split() for line in result.stdout.splitlines()]
