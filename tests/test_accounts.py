"""Editors' accounts: made from the shell, hashed with argon2id, locked out after repeated failures."""

import json
import time

import pytest
from argon2 import PasswordHasher

from republisher import accounts, storage
from republisher.errors import AccountError, LoginFailedError, LoginLockedError

PASSWORD = "a long enough passphrase"
RULES = accounts.LoginRules(window_seconds=60, max_failures=3, max_failures_per_address=5)


def add(runner, name, password=PASSWORD, role="editor"):
    """`users add NAME --role ROLE --password-stdin`."""
    return runner.invoke(args=["users", "add", name, "--role", role, "--password-stdin"], input=password + "\n")


def test_users_add_list_disable_and_set_password_from_the_shell(runner, db):
    assert add(runner, "maria", role="admin").exit_code == 0
    assert add(runner, "tom").exit_code == 0
    listed = json.loads(runner.invoke(args=["users", "list", "--json"]).output)
    assert [(row["name"], row["role"], row["disabled"]) for row in listed] == [("maria", "admin", 0), ("tom", "editor", 0)]
    assert all("password_hash" not in row for row in listed)
    assert "tom" in runner.invoke(args=["users", "list"]).output

    assert runner.invoke(args=["users", "disable", "tom"]).exit_code == 0
    with pytest.raises(LoginFailedError):
        accounts.login(db, "tom", PASSWORD, "127.0.0.1", RULES)

    result = runner.invoke(args=["users", "set-password", "maria", "--password-stdin"], input="another passphrase 2\n")
    assert result.exit_code == 0
    with pytest.raises(LoginFailedError):
        accounts.login(db, "maria", PASSWORD, "127.0.0.1", RULES)
    assert accounts.login(db, "maria", "another passphrase 2", "127.0.0.1", RULES)["name"] == "maria"


def test_password_is_read_from_a_hidden_prompt_twice(runner, db):
    result = runner.invoke(args=["users", "add", "ana"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    assert accounts.login(db, "ana", PASSWORD, "127.0.0.1", RULES)["role"] == "editor"


@pytest.mark.parametrize("args, password, message", [
    (["users", "add", "short"], "too short", "at least 12"),
    (["users", "add", "bad name"], PASSWORD, "no spaces"),
    (["users", "add", "x", "--role", "owner"], PASSWORD, "owner"),
    (["users", "disable", "nobody"], PASSWORD, "no user named nobody"),
])
def test_bad_accounts_are_refused_in_one_line(runner, args, password, message):
    result = runner.invoke(args=[*args, "--password-stdin"] if args[1] == "add" else args, input=password + "\n")
    assert result.exit_code != 0
    assert message in result.output and "Traceback" not in result.output


def test_a_name_is_taken_in_any_letter_case(runner):
    assert add(runner, "Maria").exit_code == 0
    result = add(runner, "maria")
    assert result.exit_code != 0 and "exists already" in result.output


def test_hashes_are_argon2id_with_the_parameters_set_explicitly(db):
    accounts.add_user(db, "lea", "editor", PASSWORD)
    stored = storage.find_user(db, "lea")["password_hash"]
    assert stored.startswith("$argon2id$")
    assert f"m={19 * 1024},t=2,p=1" in stored
    assert PASSWORD not in stored


def test_a_hash_made_with_weaker_parameters_is_replaced_at_login(db):
    user = accounts.add_user(db, "old", "editor", PASSWORD)
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    storage.update_user(db, user["id"], {"password_hash": weak})
    accounts.login(db, "old", PASSWORD, "127.0.0.1", RULES)
    renewed = storage.find_user(db, "old")["password_hash"]
    assert renewed != weak and "m=19456,t=2,p=1" in renewed
    assert accounts.login(db, "old", PASSWORD, "127.0.0.1", RULES)["id"] == user["id"]


def test_an_account_is_locked_after_its_failures_even_for_the_right_password(db):
    accounts.add_user(db, "kim", "editor", PASSWORD)
    for _ in range(RULES.max_failures):
        with pytest.raises(LoginFailedError) as failed:
            accounts.login(db, "KIM", "wrong password!", "10.0.0.1", RULES)
        assert not isinstance(failed.value, LoginLockedError)
    with pytest.raises(LoginLockedError):
        accounts.login(db, "kim", PASSWORD, "10.0.0.2", RULES)
    outcomes = [row["outcome"] for row in storage.login_attempts(db, "kim")]
    assert outcomes == ["refused"] + ["failed"] * RULES.max_failures


def test_the_lockout_ends_a_window_after_the_last_failure_and_a_success_clears_the_count(db):
    rules = accounts.LoginRules(window_seconds=1, max_failures=2, max_failures_per_address=50)
    accounts.add_user(db, "eva", "editor", PASSWORD)
    for _ in range(2):
        with pytest.raises(LoginFailedError):
            accounts.login(db, "eva", "wrong password!", "10.0.0.1", rules)
    with pytest.raises(LoginLockedError):
        accounts.login(db, "eva", PASSWORD, "10.0.0.1", rules)
    time.sleep(1.1)
    assert accounts.login(db, "eva", PASSWORD, "10.0.0.1", rules)["name"] == "eva"
    # the success starts the count again: one more failure does not lock
    with pytest.raises(LoginFailedError) as failed:
        accounts.login(db, "eva", "wrong password!", "10.0.0.1", rules)
    assert not isinstance(failed.value, LoginLockedError)
    assert accounts.login(db, "eva", PASSWORD, "10.0.0.1", rules)["name"] == "eva"


def test_one_address_guessing_many_names_is_locked_out(db):
    accounts.add_user(db, "joe", "editor", PASSWORD)
    for number in range(RULES.max_failures_per_address):
        with pytest.raises(LoginFailedError):
            accounts.login(db, f"guess{number}", "wrong password!", "10.9.9.9", RULES)
    with pytest.raises(LoginLockedError):
        accounts.login(db, "joe", PASSWORD, "10.9.9.9", RULES)
    assert accounts.login(db, "joe", PASSWORD, "10.0.0.7", RULES)["name"] == "joe"


def test_sessions_end_on_logout_disable_password_change_and_idling(db):
    user = accounts.add_user(db, "sam", "editor", PASSWORD)
    token = accounts.open_session(db, user, "127.0.0.1")
    assert accounts.session_user(db, token, 1800)["name"] == "sam"
    assert accounts.session_user(db, token + "x", 1800) is None
    accounts.close_session(db, token)
    assert accounts.session_user(db, token, 1800) is None

    token = accounts.open_session(db, user, "127.0.0.1")
    accounts.set_password(db, "sam", "a different passphrase")
    assert accounts.session_user(db, token, 1800) is None

    token = accounts.open_session(db, user, "127.0.0.1")
    accounts.disable_user(db, "sam")
    assert accounts.session_user(db, token, 1800) is None
    accounts.enable_user(db, "sam")
    assert accounts.session_user(db, token, 1800) is None, "re-enabling does not bring old sessions back"

    token = accounts.open_session(db, user, "127.0.0.1")
    time.sleep(1.1)
    assert accounts.session_user(db, token, 1) is None


def test_account_errors_are_named(db):
    with pytest.raises(AccountError):
        accounts.add_user(db, "", "editor", PASSWORD)
    with pytest.raises(AccountError):
        accounts.add_user(db, "long", "editor", "x" * (accounts.MAX_PASSWORD_CHARS + 1))
