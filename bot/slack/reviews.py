"""Owner verification in Slack (issue 14, first part): a document due for review gets one DM
to its owner, whatever the restarts and however many replicas; the owner answers with a
button, and staff hear of documents that need an update or are not the owner's.

Once only: each reminder is an outbox row keyed by the document and the review date it is
about, so a second replica, a restart or the next check finds it queued and adds nothing.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import asdict, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bot.enablement.reviews import (
    USAGE_DAYS,
    DocumentState,
    OwnersFileError,
    ReviewService,
    ReviewStatus,
    Usage,
    document_states,
    document_usage,
    load_owners,
)
from bot.slack import review_blocks
from bot.slack.delivery import Deliverer, SlackCall
from bot.slack.triage import POST
from bot.work.outbox import Delivery, OutboxItem
from ingest.records import FileEntry

log = logging.getLogger(__name__)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")

REVIEW_NOTICE = "review_notice"
REVIEW_JOB = "review-notices"
DIGEST_JOB = "review-digest"
DIGEST_CHECK_S = 3600.0  # the digest is due on its weekday; looked for hourly
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_ANSWERED = (ReviewStatus.NEEDS_UPDATE, ReviewStatus.NOT_MINE)  # with staff now


class ReviewNotifier:
    def __init__(
        self,
        deliverer: Deliverer,
        reviews: ReviewService,
        entries: Callable[[], dict[str, FileEntry]],
        owners_file: Path | None,
        notice_days: int,
        triage_channel_id: str | None,
        nearest_docs: Callable[[str], list[str]] | None = None,
        today: Callable[[], date] = date.today,
        digest_day: str | None = None,
        lookup_email: Callable[[str], str | None] | None = None,
    ) -> None:
        self.deliverer = deliverer
        self.outbox = deliverer.outbox
        self.reviews = reviews
        self.entries = entries
        self.owners_file = owners_file
        self.notice_days = notice_days
        self.triage_channel_id = triage_channel_id
        self.nearest_docs = nearest_docs or (lambda _question: [])
        self.today = today
        self.digest_day = digest_day
        self.lookup_email = lookup_email
        deliverer.renderers[REVIEW_NOTICE] = self._render

    def states(self) -> list[DocumentState]:
        try:
            owners = load_owners(self.owners_file)
        except OwnersFileError as error:  # reminders go to owner_slack alone meanwhile
            log.warning("owners file not used: %s", error)
            owners = {}
        states = document_states(self.entries(), self.reviews.reviews(), owners)
        if self.lookup_email is None:
            return states
        # Last resort for an owner written with an email and mapped nowhere: ask Slack.
        found = []
        for state in states:
            email = _EMAIL.search(state.owner or "") if state.owner_slack is None else None
            user = self.lookup_email(email.group(0).lower()) if email else None
            found.append(replace(state, owner_slack=user) if user else state)
        return found

    def queue_due(self) -> int:
        """Queues a reminder for each due document whose owner Slack can reach; returns how
        many were new, and sends them."""
        today, new = self.today(), 0
        owed: list[tuple[str, DocumentState]] = []
        for state in self.states():
            if not state.due(today, self.notice_days) or state.review_by is None:
                continue
            if state.owner_slack is None or (state.review and state.review.status in _ANSWERED):
                continue
            digest = hashlib.sha256(state.key.encode()).hexdigest()[:24]
            key = f"review:{digest}:{state.review_by.isoformat()}"
            if self.outbox.by_key(key) is None:  # sent before: nothing to work out again
                owed.append((key, state))
        if not owed:
            return 0
        entries = self.entries()
        doc_ids = {entries[s.key].doc_id: s.key for _k, s in owed if s.key in entries}
        since = datetime.now(UTC) - timedelta(days=USAGE_DAYS)
        usage = document_usage(self.reviews.store, set(doc_ids), self.nearest_docs, since)
        by_key = {key: usage[doc_id] for doc_id, key in doc_ids.items()}
        for key, state in owed:
            used = by_key.get(state.key, Usage())
            item = OutboxItem(
                key=key,
                kind=REVIEW_NOTICE,
                user_id=state.owner_slack,
                payload={
                    "key": state.key,
                    "title": state.title,
                    "link": state.link,
                    "review_by": state.review_by.isoformat() if state.review_by else "",
                    "usage": asdict(used),
                },
            )
            if self.outbox.enqueue(item) is not None:
                new += 1
        if new:
            log.info("review reminders queued: %d", new)
            self.deliverer.run_due((REVIEW_NOTICE,))
        return new

    def _render(self, delivery: Delivery) -> SlackCall:
        payload = delivery.payload
        used = payload.get("usage") or {}
        message = review_blocks.reminder(
            str(payload["title"]),
            str(payload["link"]),
            date.fromisoformat(str(payload["review_by"])),
            self.today(),
            str(payload["key"]),
            Usage(
                int(used.get("cited", 0)),
                int(used.get("helpful", 0)),
                int(used.get("unhelpful", 0)),
                tuple(str(q) for q in used.get("unanswered", ())),
            ),
        )
        return SlackCall("chat.postMessage", {"channel": delivery.user_id, **message.to_dict()})

    def post_digest(self) -> bool:
        """The week's digest in the triage channel, on COE_REVIEW_DIGEST_DAY: documents past
        review by owner, and the ones no owner has verified yet. Once a week (outbox key),
        whoever runs it."""
        today = self.today()
        if not self.triage_channel_id or self.digest_day != _WEEKDAYS[today.weekday()]:
            return False
        states = self.states()
        due: dict[str, list[DocumentState]] = {}
        for state in states:
            if state.due(today):
                due.setdefault(state.owner or "(no owner)", []).append(state)
        unverified = [s for s in states if s.review is None or s.review.verified_on is None]
        year, week, _ = today.isocalendar()
        queued = self.outbox.enqueue(
            OutboxItem(
                key=f"review-digest:{year}-W{week:02d}",
                kind=POST,
                channel_id=self.triage_channel_id,
                payload={"message": review_blocks.digest(due, unverified, today).to_dict()},
            )
        )
        if queued is not None:
            self.deliverer.run_due((POST,))
        return queued is not None

    # -- the owner's answers -----------------------------------------------------------------

    def entry(self, key: str) -> FileEntry | None:
        return self.entries().get(key)

    def still_accurate(self, key: str, user_id: str) -> review_blocks.Message | None:
        entry = self.entry(key)
        if entry is None:
            return None
        review = self.reviews.verify(key, entry, user_id, self.today())
        assert review.review_by is not None
        return review_blocks.verified(entry.title, entry.source, review.review_by)

    def needs_update(self, key: str, user_id: str, note: str) -> review_blocks.Message | None:
        entry = self.entry(key)
        if entry is None:
            return None
        self.reviews.needs_update(key, user_id, note)
        self._tell_staff(key, review_blocks.staff_notice(entry.title, entry.source, user_id, note))
        return review_blocks.answered(
            entry.title, entry.source, "thank you, CoE staff have your note."
        )

    def not_mine(self, key: str, user_id: str) -> review_blocks.Message | None:
        entry = self.entry(key)
        if entry is None:
            return None
        self.reviews.not_mine(key, user_id)
        self._tell_staff(key, review_blocks.staff_notice(entry.title, entry.source, user_id, None))
        return review_blocks.answered(
            entry.title, entry.source, "thank you, CoE staff will find its owner."
        )

    def _tell_staff(self, key: str, message: review_blocks.Message) -> None:
        if not self.triage_channel_id:
            log.warning("no COE_TRIAGE_CHANNEL_ID: staff are not told about %s", key)
            return
        # One post per document and answer: a double click queues nothing more.
        said = hashlib.sha256(f"{key}\0{message.text}".encode()).hexdigest()[:32]
        queued = self.outbox.enqueue(
            OutboxItem(
                key=f"review-staff:{said}",
                kind=POST,
                channel_id=self.triage_channel_id,
                payload={"message": message.to_dict()},
            )
        )
        if queued is not None:
            self.deliverer.run_due((POST,))
