"""The command line: every command has help, errors are one clear line, JSON is complete."""

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from helpers import sample_feed
from republisher import cli as cli_module

CONSOLE_SCRIPT = Path(sys.executable).with_name("republisher")


def all_commands(group, prefix=()):
    """Every command path below a click group."""
    for name, command in sorted(group.commands.items()):
        path = (*prefix, name)
        yield path
        if isinstance(command, click.Group):
            yield from all_commands(command, path)


def run_cli(*args, env=None, input=None):
    """Run the installed console script in a subprocess, as an operator would."""
    return subprocess.run([str(CONSOLE_SCRIPT), *args], capture_output=True, text=True, env=env, input=input, timeout=120)


@pytest.fixture
def cli_env(tmp_path):
    """Environment for the console script with its own database file."""
    env = dict(os.environ, REPUBLISHER_DATABASE=str(tmp_path / "cli.sqlite"), REPUBLISHER_ALLOW_PRIVATE_ADDRESSES="1")
    env.pop("FLASK_APP", None)
    return env


def test_every_command_has_help(app):
    paths = list(all_commands(app.cli))
    assert ("sources", "add") in paths and ("items", "approve") in paths and ("fetch",) in paths
    runner = app.test_cli_runner()
    for path in paths:
        result = runner.invoke(args=[*path, "--help"])
        assert result.exit_code == 0, path
        assert "Usage:" in result.output
        command = app.cli
        for name in path:
            command = command.commands[name]
        assert command.help or command.callback.__doc__, f"{' '.join(path)} has no help text"


def test_console_script_help_and_init(cli_env):
    result = run_cli("--help", env=cli_env)
    assert result.returncode == 0 and "init" in result.stdout and "fetch" in result.stdout
    first = run_cli("init", env=cli_env)
    again = run_cli("init", env=cli_env)
    assert first.returncode == 0 and "applied" in first.stdout
    assert again.returncode == 0 and "up to date" in again.stdout


def test_help_shows_our_commands_whole_without_flask_options_and_the_version(cli_env):
    from importlib.metadata import version

    top = run_cli("--help", env=cli_env).stdout
    for flask_option in ("--env-file", "--app", "--debug", "-A,", "-e,"):
        assert flask_option not in top
    for group in ((), ("sources",), ("items",)):
        listing = run_cli(*group, "--help", env=cli_env).stdout.split("Commands:")[1]
        assert "..." not in listing, f"a description is cut off in {' '.join(group) or 'the top-level'} help"
    assert "complete credit; exit 1 on a violation" in " ".join(top.split())
    shown = run_cli("--version", env=cli_env)
    assert shown.returncode == 0 and shown.stdout.strip() == f"republisher, version {version('republisher')}"


def test_bad_setting_fails_at_start_naming_it(cli_env):
    env = dict(cli_env, REPUBLISHER_FETCH_DEADLINE="soon")
    result = run_cli("init", env=env)
    assert result.returncode != 0
    assert "REPUBLISHER_FETCH_DEADLINE" in result.stderr
    assert "Traceback" not in result.stderr


def test_errors_are_one_line_without_traceback(runner):
    for args in (["sources", "add", "file:///etc/passwd"], ["sources", "set-license", "999", "CC-BY-4.0", "--evidence", "x"],
                 ["sources", "add", "https://x.example/feed", "--license", "NOT-A-LICENSE", "--evidence", "x"],
                 ["items", "approve", "12345"], ["fetch", "--source", "77"]):
        result = runner.invoke(args=args)
        assert result.exit_code != 0, args
        assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit), args
        assert result.output.strip(), args


def test_add_fetch_and_list_items_as_json(runner, httpserver):
    httpserver.expect_request("/feed").respond_with_data(sample_feed("harbor-wire.xml"), content_type="application/rss+xml")
    added = runner.invoke(args=["sources", "add", httpserver.url_for("/feed"), "--name", "Harbor Wire"])
    assert added.exit_code == 0, added.output
    source_id = int(added.stdout.strip())  # the license check reports on stderr

    fetched = runner.invoke(args=["fetch", "--source", str(source_id), "--json"])
    assert fetched.exit_code == 0, fetched.output
    [report] = json.loads(fetched.output)
    assert report["new"] == 3 and report["error"] is None

    listed = runner.invoke(args=["items", "list", "--source", str(source_id), "--json"])
    items = json.loads(listed.output)
    assert len(items) == 3
    for item in items:
        assert {"id", "status", "title", "url", "guid", "source_id", "license", "license_evidence"} <= item.keys()
        assert item["source_id"] == source_id

    sources = json.loads(runner.invoke(args=["sources", "list", "--json"]).output)
    assert sources[0]["name"] == "Harbor Wire" and sources[0]["last_error"] is None


def test_fetch_without_sources_due_says_so(runner):
    result = runner.invoke(args=["fetch"])
    assert result.exit_code == 0 and "No source is due" in result.output


def test_fetch_shows_progress_on_a_terminal(app, httpserver, cli_env):
    httpserver.expect_request("/a").respond_with_data(sample_feed("harbor-wire.xml"), content_type="application/rss+xml")
    httpserver.expect_request("/b").respond_with_data(sample_feed("valley-atlas.atom"), content_type="application/atom+xml")
    for path in ("/a", "/b"):
        assert run_cli("sources", "add", httpserver.url_for(path), env=cli_env).returncode == 0
    script = f"import pty, sys; sys.exit(pty.spawn([{str(CONSOLE_SCRIPT)!r}, 'fetch']) >> 8)"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=cli_env, timeout=120)
    assert result.returncode == 0
    assert "Fetching" in result.stdout and "3 new" in result.stdout and "2 new" in result.stdout


def test_worker_once_fetches_due_sources(runner, httpserver):
    httpserver.expect_request("/feed").respond_with_data(sample_feed("harbor-wire.xml"), content_type="application/rss+xml")
    assert runner.invoke(args=["sources", "add", httpserver.url_for("/feed"), "--name", "Harbor"]).exit_code == 0
    first = runner.invoke(args=["worker", "--once"])
    again = runner.invoke(args=["worker", "--once"])
    assert first.exit_code == 0 and "Harbor: 3 new" in first.output
    assert again.exit_code == 0 and again.output == ""


def test_serve_answers_with_the_production_server_and_fetches_in_the_background(cli_env, httpserver):
    import socket
    import time
    import urllib.request

    httpserver.expect_request("/feed").respond_with_data(sample_feed("harbor-wire.xml"), content_type="application/rss+xml")
    assert run_cli("sources", "add", httpserver.url_for("/feed"), "--auto-approve", env=cli_env).returncode == 0
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = dict(cli_env, REPUBLISHER_SITE_URL=f"http://127.0.0.1:{port}")
    server = subprocess.Popen([str(CONSOLE_SCRIPT), "serve", "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        health = None
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    health = json.loads(response.read())
                if health["published"] == 3:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        assert health and health["published"] == 3, health
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
            assert response.headers["Server"] == "republisher"
            assert "Ferry service resumes" in response.read().decode()
    finally:
        server.terminate()
        server.wait(timeout=10)
