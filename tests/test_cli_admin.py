"""`python cli.py admin ...` against the stack's MongoDB: users and tokens."""

import json

import pytest
from click.testing import CliRunner

from console.app import main
from core.clients import mongo_database
from core.users import UserStore
from helpers import free_ports


@pytest.fixture
def admin(stack):
    """Run `python cli.py admin ...` with the stack's settings in the environment."""
    env = stack.config.to_env()

    def run(*args):
        return CliRunner().invoke(main, ["admin", *args], env=env, prog_name="python cli.py")
    return run


@pytest.fixture
def users(stack):
    """The stack's user store."""
    return UserStore(mongo_database(stack.config))


def test_create_user_prints_only_the_token_on_stdout(admin, users):
    result = admin("create-user", "alice")
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert len(token) >= 32 and "\n" not in token
    assert users.user_for_token(token) == "alice"
    assert "Created user 'alice'. Keep the token above: it is not shown again." in result.stderr


def test_create_user_twice_is_refused(admin):
    admin("create-user", "alice")
    result = admin("create-user", "alice")
    assert result.exit_code == 1
    assert result.output == "Error: User 'alice' already exists.\n"


def test_tokens_issue_ls_revoke(admin, users):
    users.create_user("alice")
    issued = admin("tokens", "issue", "alice", "--label", "laptop")
    assert issued.exit_code == 0, issued.output
    token = issued.stdout.strip()
    assert users.user_for_token(token) == "alice"

    listed = admin("tokens", "ls", "alice", "--json")
    assert listed.exit_code == 0
    tokens = json.loads(listed.stdout)
    assert [t["label"] for t in tokens] == ["initial", "laptop"]
    laptop = tokens[1]["id"]
    assert f"Issued token {laptop} for 'alice'." in issued.stderr

    table = admin("tokens", "ls", "alice").stdout.splitlines()
    assert table[0].split() == ["ID", "LABEL", "CREATED"]
    assert table[2].split()[:2] == [laptop, "laptop"]

    revoked = admin("tokens", "revoke", laptop)
    assert revoked.exit_code == 0
    assert revoked.output == f"Revoked token {laptop}.\n"
    assert users.user_for_token(token) is None
    again = admin("tokens", "revoke", laptop)
    assert again.exit_code == 1
    assert again.output == f"Error: No token with id '{laptop}'.\n"


def test_tokens_for_an_unknown_user_are_refused(admin):
    result = admin("tokens", "issue", "nobody")
    assert result.exit_code == 1
    assert result.output == "Error: No user named 'nobody'.\n"
    assert admin("tokens", "ls", "nobody").stderr == "No tokens for 'nobody'.\n"


def test_unreachable_mongo_is_a_clear_error(stack):
    env = {**stack.config.to_env(), "MONGO_URL": f"mongodb://127.0.0.1:{free_ports(1)[0]}/"}
    result = CliRunner().invoke(main, ["admin", "create-user", "alice"], env=env)
    assert result.exit_code == 1
    assert result.output.startswith("Error: MongoDB did not answer (check MONGO_URL and MONGO_DB):")


def test_set_password_asks_twice_unseen_and_keeps_only_an_argon2_hash(stack, users):
    users.create_user("alice")
    result = CliRunner().invoke(main, ["admin", "set-password", "alice"], env=stack.config.to_env(),
                                input="correct horse battery\ncorrect horse battery\n", prog_name="python cli.py")
    assert result.exit_code == 0, result.output
    assert "correct horse battery" not in result.output
    assert "Set the console password of 'alice'" in result.stderr
    stored = mongo_database(stack.config)["users"].find_one({"_id": "alice"})["password"]
    assert stored.startswith("$argon2id$")
    assert users.check_password("alice", "correct horse battery")
    assert not users.check_password("alice", "correct horse batterY")


@pytest.mark.parametrize(("args", "message"), [
    (["set-password", "alice", "--password", "short"], "Error: A password has 10 to 1024 characters.\n"),
    (["set-password", "nobody", "--password", "long enough now"], "Error: No user named 'nobody'.\n"),
])
def test_set_password_refuses_a_short_password_and_an_unknown_user(admin, users, args, message):
    users.create_user("alice")
    result = admin(*args)
    assert result.exit_code == 1
    assert result.output == message
    assert not users.check_password("alice", "short")
