"""Helpers for the fetcher's tests: generated feeds, threaded servers, fetcher subprocesses."""

import os
import subprocess
import sys
from xml.sax.saxutils import escape

from helpers import REPO

LICENSE = {"license": "CC-BY-4.0", "evidence": "https://publisher.example/about#license"}


def rss(count: int, prefix: str = "item", body: str = "<p>A short report.</p>") -> bytes:
    """An RSS feed without <ttl> or cache hints, whose items are prefix-0 ... prefix-(count-1)."""
    items = "".join(
        f"<item><title>{prefix} {number}</title><link>https://publisher.example/{prefix}/{number}</link>"
        f"<guid>{prefix}-{number}</guid><description>{escape(body)}</description></item>"
        for number in range(count))
    return (f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>{prefix} feed</title>"
            f"<link>https://publisher.example/</link><description>d</description>{items}</channel></rss>").encode()


def cli_env(database, **settings) -> dict:
    """Environment for a republisher subprocess on this worktree's code and the given database."""
    env = dict(os.environ, PYTHONPATH=str(REPO), REPUBLISHER_DATABASE=str(database),
               REPUBLISHER_ALLOW_PRIVATE_ADDRESSES="1")
    env.pop("FLASK_APP", None)
    env.update({f"REPUBLISHER_{key}": str(value) for key, value in settings.items()})
    return env


def cli_command(*args) -> list[str]:
    """The command line that runs `republisher ARGS` from this worktree."""
    return [sys.executable, "-c", "from republisher.cli import main; main()", *args]


def start_cli(env, *args, **options) -> subprocess.Popen:
    """Start `republisher ARGS` as a subprocess."""
    return subprocess.Popen(cli_command(*args), env=env, cwd=str(REPO), **options)


def run_cli(env, *args, timeout=120) -> subprocess.CompletedProcess:
    """Run `republisher ARGS` to its end."""
    return subprocess.run(cli_command(*args), env=env, cwd=str(REPO), capture_output=True, text=True,
                          timeout=timeout)
