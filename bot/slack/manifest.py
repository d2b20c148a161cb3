"""The Slack app manifest, derived from what the app actually registers."""

from __future__ import annotations

from bot.slack.listeners.assistant import SUGGESTED_PROMPTS
from bot.slack.registry import Registrar

# Each scope is here because a listener or a Web API call needs it.
BOT_SCOPES = [
    "app_mentions:read",  # app_mention events
    "assistant:write",  # assistant threads: status and suggested prompts
    "channels:history",  # message.channels: follow-ups in the bot's threads
    "groups:history",  # message.groups: the same in private channels
    "im:history",  # message.im: direct messages
    "chat:write",  # posting answers
    "commands",  # /coe
    "im:write",  # conversations.open: a DM when a channel is closed to the bot
    "usergroups:read",  # usergroups.users.list: the CoE staff group
    "users:read",  # users.lookupByEmail needs it beside users:read.email
    "users:read.email",  # users.lookupByEmail: a document owner's Slack id from their email
]

MESSAGE_EVENTS = {
    "message": ["message.channels", "message.groups", "message.im"],
}


def build_manifest(registrar: Registrar, url: str | None, socket_mode: bool) -> dict:
    request_url = f"{url.rstrip('/')}/slack/events" if url else "https://YOUR-HOST/slack/events"
    bot_events: list[str] = []
    for name in registrar.events:
        for event in MESSAGE_EVENTS.get(name, [name]):
            if event not in bot_events:
                bot_events.append(event)
    features: dict = {
        "app_home": {
            "home_tab_enabled": "app_home_opened" in registrar.events,
            "messages_tab_enabled": True,
            "messages_tab_read_only_enabled": False,
        },
        "bot_user": {"display_name": "CoE Assistant", "always_online": True},
        "slash_commands": [
            {
                "command": command,
                "description": "Ask the AI CoE knowledge base, list checklists, get help",
                "usage_hint": "ask <question> | checklist [name] | help",
                "should_escape": False,
                **({} if socket_mode else {"url": request_url}),
            }
            for command in registrar.commands
        ],
        "shortcuts": [
            {
                "name": name,
                "type": "message",
                "callback_id": callback_id,
                "description": "Answer this message from the CoE knowledge base",
            }
            for callback_id, name in registrar.message_shortcuts.items()
        ],
    }
    if registrar.assistant:
        features["assistant_view"] = {
            "assistant_description": "Answers from the AI CoE knowledge base, with sources.",
            "suggested_prompts": [
                {"title": p["title"], "message": p["message"]} for p in SUGGESTED_PROMPTS
            ],
        }
    events: dict = {"bot_events": bot_events}
    interactivity: dict = {"is_enabled": True}
    if not socket_mode:
        events["request_url"] = request_url
        interactivity["request_url"] = request_url
    return {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {
            "name": "CoE Assistant",
            "description": "Grounded answers, checklists and expert help from the AI CoE",
            "background_color": "#1d3557",
        },
        "features": features,
        "oauth_config": {"scopes": {"bot": BOT_SCOPES}},
        "settings": {
            "event_subscriptions": events,
            "interactivity": interactivity,
            "org_deploy_enabled": False,
            "socket_mode_enabled": socket_mode,
            "token_rotation_enabled": False,
        },
    }
