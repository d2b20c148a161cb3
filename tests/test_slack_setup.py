"""`coe manifest` and `coe serve` as an admin meets them."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from bot.slack.app import listener_registry
from tests.conftest import REPO
from tests.slack_double import SlackDouble


def test_manifest_is_json_and_lists_everything_the_app_listens_to(cli):
    result = cli("manifest", "--url", "https://coe.example.com", "--http")
    assert result.exit_code == 0
    manifest = json.loads(result.stdout)
    registry = listener_registry()
    bot_events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    for event in registry.events:
        expected = (
            {"message.channels", "message.groups", "message.im"} if event == "message" else {event}
        )
        assert expected <= bot_events, event
    commands = {c["command"] for c in manifest["features"]["slash_commands"]}
    assert set(registry.commands) == commands
    shortcuts = {s["callback_id"] for s in manifest["features"]["shortcuts"]}
    assert set(registry.message_shortcuts) == shortcuts
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert (
        manifest["settings"]["event_subscriptions"]["request_url"]
        == "https://coe.example.com/slack/events"
    )
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {
        "app_mentions:read",
        "chat:write",
        "commands",
        "im:history",
        "assistant:write",
    } <= scopes
    assert "assistant_view" in manifest["features"]


def test_socket_mode_manifest_has_no_request_urls(cli):
    manifest = json.loads(cli("manifest", "--socket-mode").stdout)
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert "request_url" not in manifest["settings"]["event_subscriptions"]


def _serve(env: dict, port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli.main", "serve", "--port", str(port), "--host", "127.0.0.1"],
        env={**os.environ, **env},
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "SLACK_BOT_TOKEN is not set"),
        ({"SLACK_BOT_TOKEN": "not-a-token"}, "must be a bot token"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET is required"),
    ],
)
def test_serve_refuses_to_start_without_valid_settings(cli, env, message):
    result = cli("serve", env={"SLACK_BOT_TOKEN": "", "SLACK_SIGNING_SECRET": "", **env})
    assert result.exit_code == 2
    assert message in result.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_runs_http_mode_and_reports_a_refused_token(kb_data, tmp_path):
    double = SlackDouble().start()
    env = {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "s",
        "SLACK_API_URL": double.url,
        "COE_DATA_DIR": str(kb_data),
        "COE_DATABASE_URL": f"sqlite:///{tmp_path}/coe.db",
    }
    try:
        port = _free_port()
        process = _serve(env, port)
        deadline = time.monotonic() + 120
        health = None
        while time.monotonic() < deadline and health is None:
            assert process.poll() is None, process.stdout.read()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    health = json.loads(r.read())
            except OSError:
                time.sleep(0.5)
        assert health and health["ok"] is True
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)

        double.bad_token = True
        refused = _serve(env, _free_port())
        output, _ = refused.communicate(timeout=120)
        assert refused.returncode == 2
        assert "Slack refused the bot token" in output
    finally:
        double.stop()
