"""Registers listeners on the bolt app and remembers what it registered, for the manifest."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from slack_bolt import App

_T = TypeVar("_T")


def serving(dependency: _T | None) -> _T:
    """A listener's dependency, which only `listener_registry()` leaves out: it registers
    listeners to list them in the manifest, and they never run."""
    if dependency is None:
        raise RuntimeError("a listener registered only for the manifest was called")
    return dependency


@dataclass
class Registrar:
    app: App
    events: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    message_shortcuts: dict[str, str] = field(default_factory=dict)  # callback_id -> name
    actions: list[str] = field(default_factory=list)
    views: list[str] = field(default_factory=list)
    assistant: bool = False

    def event(self, name: str) -> Callable:
        self.events.append(name)
        return self.app.event(name)

    def command(self, name: str) -> Callable:
        self.commands.append(name)
        return self.app.command(name)

    def message_shortcut(self, callback_id: str, name: str) -> Callable:
        self.message_shortcuts[callback_id] = name
        return self.app.message_shortcut(callback_id)

    def action(self, action_id: str) -> Callable:
        self.actions.append(action_id)
        return self.app.action(action_id)

    def view(self, callback_id: str) -> Callable:
        self.views.append(callback_id)
        return self.app.view(callback_id)
