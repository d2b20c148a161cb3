"""Registers listeners on the bolt app and remembers what it registered, for the manifest."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

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
    # Told about a listener that failed after its ack (error, request body); see _guarded.
    after_ack_error: Callable[[Exception, dict], None] | None = None

    def _guarded(self, func: Callable) -> Callable:
        """The listener, with failures after its ack handled here rather than by bolt.

        When a listener acks and then raises, bolt's thread runner replaces the ack with no
        response at all; if that happens before bolt has read the ack (a fast failure, such as
        a refused database connection), Slack gets a 500 after 3 s and shows the person an
        error although the action was acknowledged. Handled here, the ack stands.
        """
        own = list(inspect.signature(func).parameters)
        wanted = list(dict.fromkeys([*own, "ack", "body"]))

        def guarded(**kwargs: Any) -> Any:
            try:
                return func(**{k: v for k, v in kwargs.items() if k in own})
            except Exception as error:
                ack = kwargs.get("ack")
                if self.after_ack_error is None or getattr(ack, "response", None) is None:
                    raise  # not acknowledged yet: bolt answers Slack with the error
                self.after_ack_error(error, kwargs.get("body") or {})
                return None

        # bolt passes a listener the arguments its signature names: ask for ack and body too.
        guarded.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in wanted]
        )
        guarded.__name__ = getattr(func, "__name__", "listener")
        return guarded

    def _registering(self, register: Callable) -> Callable:
        def decorator(func: Callable) -> Callable:
            register(self._guarded(func))
            return func

        return decorator

    def event(self, name: str) -> Callable:
        self.events.append(name)
        return self.app.event(name)

    def command(self, name: str) -> Callable:
        self.commands.append(name)
        return self._registering(self.app.command(name))

    def message_shortcut(self, callback_id: str, name: str) -> Callable:
        self.message_shortcuts[callback_id] = name
        return self._registering(self.app.message_shortcut(callback_id))

    def action(self, action_id: str) -> Callable:
        self.actions.append(action_id)
        return self._registering(self.app.action(action_id))

    def view(self, callback_id: str) -> Callable:
        self.views.append(callback_id)
        return self._registering(self.app.view(callback_id))
