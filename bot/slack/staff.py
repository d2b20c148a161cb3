"""Who counts as CoE staff: listed user ids, plus members of a Slack user group (cached)."""

from __future__ import annotations

import logging
import threading
import time

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)
GROUP_CACHE_S = 300


class StaffDirectory:
    def __init__(self, user_ids: list[str], usergroup_id: str | None, client: WebClient) -> None:
        self._users = set(user_ids)
        self._group = usergroup_id
        self._client = client
        self._members: set[str] = set()
        self._fetched_at = 0.0
        self._lock = threading.Lock()

    def _group_members(self) -> set[str]:
        if not self._group:
            return set()
        with self._lock:
            if time.monotonic() - self._fetched_at > GROUP_CACHE_S:
                try:
                    response = self._client.usergroups_users_list(usergroup=self._group)
                    self._members = set(response.get("users", []))
                    self._fetched_at = time.monotonic()
                except SlackApiError as error:
                    # Keep the last known members: a Slack hiccup must not grant or revoke access.
                    log.warning("could not read staff user group %s: %s", self._group, error)
            return self._members

    def is_staff(self, user_id: str) -> bool:
        return user_id in self._users or user_id in self._group_members()
