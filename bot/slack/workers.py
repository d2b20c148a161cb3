"""Answers stored questions on a small thread pool; a sweep resumes whatever was left behind.

A question reaches a worker in three ways: straight after it is received, from a Slack retry
of the same message, or from the sweep (at start-up and every few seconds) that finds jobs
orphaned by a crash, a restart or another replica. Claims make all three safe together.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypedDict

from slack_sdk import WebClient

from bot.db.store import new_reference
from bot.logs import about
from bot.slack import blocks
from bot.slack.delivery import METADATA_EVENT, Deliverer, SlackCall, render_post
from bot.slack.responder import Ask, Responder
from bot.slack.streaming import AnswerStream
from bot.work.outbox import Delivery, OutboxItem
from bot.work.questions import Job, QuestionJobs, Ticket, reply_key

log = logging.getLogger(__name__)

STATUS = "searching the knowledge base…"
ANSWER_KINDS = ("answer", "respond", "answer_stream")
INTERRUPTED = "This answer was interrupted; it follows again below."


class _ReplyFields(TypedDict):
    key: str
    user_id: str
    reference: str
    max_attempts: int
    uncertain: bool


def reply_item(job: Job, message: blocks.Message, max_attempts: int) -> OutboxItem:
    """The outbox row for a job's reply. A second attempt at a job looks before it posts."""
    common: _ReplyFields = {
        "key": reply_key(job.reference),
        "user_id": job.user_id,
        "reference": job.reference,
        "max_attempts": max_attempts,
        "uncertain": job.attempts > 1,
    }
    payload: dict
    if job.response_url:
        payload = {
            "url": job.response_url,
            "response_type": "ephemeral",
            "replace_original": False,
            **message.to_dict(),
        }
        return OutboxItem(kind="respond", channel_id=job.channel_id, payload=payload, **common)
    payload = {"message": message.to_dict()}
    if not job.channel_id.startswith("D"):
        payload["dm_fallback_user"] = job.user_id  # e.g. the bot was removed from the channel
    return OutboxItem(
        kind="answer",
        channel_id=job.channel_id,
        thread_ts=job.thread_ts,
        payload=payload,
        **common,
    )


def stream_end_item(
    job: Job, stream: AnswerStream, message: blocks.Message, max_attempts: int
) -> OutboxItem:
    """The outbox row that closes a streamed answer with its sources and buttons."""
    payload: dict = {"ts": stream.ts, "message": message.to_dict()}
    if stream.unsent:
        payload["markdown_text"] = stream.unsent
    return OutboxItem(
        kind="answer_stream",
        channel_id=job.channel_id,
        thread_ts=job.thread_ts,
        payload=payload,
        key=reply_key(job.reference),
        user_id=job.user_id,
        reference=job.reference,
        max_attempts=max_attempts,
        uncertain=False,
    )


def render_stream_end(delivery: Delivery) -> SlackCall:
    args: dict = {
        "channel": delivery.channel_id,
        "ts": delivery.payload["ts"],
        "blocks": delivery.payload["message"].get("blocks"),
    }
    if delivery.payload.get("markdown_text"):
        args["markdown_text"] = delivery.payload["markdown_text"]
    return SlackCall("chat.stopStream", args)


def render_respond(delivery: Delivery) -> SlackCall:
    return SlackCall("response_url", dict(delivery.payload))


class AnswerWorkers:
    def __init__(
        self,
        responder: Responder,
        jobs: QuestionJobs,
        deliverer: Deliverer,
        client: WebClient,
        threads: int = 4,
        max_attempts: int = 6,
    ) -> None:
        self.responder = responder
        self.jobs = jobs
        self.deliverer = deliverer
        self.client = client
        self.max_attempts = max_attempts
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="coe-answer")
        self._stopping = threading.Event()
        self._busy = 0
        self._busy_lock = threading.Condition()
        deliverer.renderers.update(
            {"answer": render_post, "respond": render_respond, "answer_stream": render_stream_end}
        )
        self._team_id: str | None = None
        for kind in ANSWER_KINDS:
            deliverer.on_sent[kind] = self._reply_sent
            deliverer.on_gave_up[kind] = self._reply_gave_up

    # -- hooks from the deliverer ----------------------------------------------------------

    def _reply_sent(self, delivery: Delivery, channel: str | None, ts: str | None) -> None:
        if delivery.reference:
            self.jobs.posted(delivery.reference, ts)

    def _reply_gave_up(self, delivery: Delivery, error: str) -> None:
        if delivery.reference:
            self.jobs.failed(delivery.reference, error)

    # -- taking work -----------------------------------------------------------------------

    def submit(self, job_id: int) -> None:
        if self._stopping.is_set():
            return  # stays "received" in the database; the next process picks it up
        with contextlib.suppress(RuntimeError):  # the pool is shutting down
            self._pool.submit(self._run, job_id)

    def _run(self, job_id: int) -> None:
        if self._stopping.is_set():
            return
        with self._busy_lock:
            self._busy += 1
        try:
            self.process(job_id)
        except Exception:
            log.exception("question job %s failed; the sweep will try it again", job_id)
        finally:
            with self._busy_lock:
                self._busy -= 1
                self._busy_lock.notify_all()

    def process(self, job_id: int) -> bool:
        """Answers one job if it is ours to answer; True when a reply was queued."""
        job = self.jobs.claim(job_id)
        if job is None:
            return False
        with about(job.reference):
            return self._process(job)

    def _process(self, job: Job) -> bool:
        if job.stream_ts:
            # An earlier try died while streaming: close its message before answering again.
            self._stop_stream(job.channel_id, job.stream_ts, "")
            self.jobs.streaming(job, None)
        if job.surface == "assistant" and job.thread_ts:
            self._set_status(job, job.thread_ts)
        stream = self._stream_for(job)
        reply = self.responder.compose(
            Ask(job.question, job.user_id, job.channel_id, job.thread_ts, job.surface),
            job.reference,
            on_event=stream.on_event if stream else None,
        )
        if stream is not None and stream.started:
            # The streamed message is closed either way: with the sources and buttons, or
            # with the error and its reference if answering broke after it started.
            closing = (
                blocks.answer_message(reply.answer, job.reference, with_body=False)
                if reply.answer is not None
                else reply.message
            )
            item = stream_end_item(job, stream, closing, self.max_attempts)
        else:
            item = reply_item(job, reply.message, self.max_attempts)
        try:
            outbox_id = self.jobs.finish(job, reply.entry, item)
        except Exception as error:
            log.exception("could not store the answer of ref %s; trying again", job.reference)
            self._interrupted(stream)
            try:
                self.jobs.release(job, f"{type(error).__name__}: {error}")
            except Exception:
                log.warning("could not release ref %s; its lease will expire", job.reference)
            return False
        if outbox_id is None:
            log.info("ref %s was taken over by another worker", job.reference)
            self._interrupted(stream)
            return False
        self.deliverer.deliver(outbox_id)
        return True

    def _stream_for(self, job: Job) -> AnswerStream | None:
        """Written answers stream into their thread; slash commands and DM tops cannot."""
        if self.responder.answers.writer is None or not job.thread_ts or job.response_url:
            return None
        thread_ts = job.thread_ts
        on_status = None
        if job.surface == "assistant":

            def on_status(text: str) -> None:
                self._set_status(job, thread_ts, text)

        return AnswerStream(
            self.client,
            job.channel_id,
            thread_ts,
            job.user_id,
            self._team,
            on_status,
            on_started=lambda ts: self.jobs.streaming(job, ts),
        )

    def _interrupted(self, stream: AnswerStream | None) -> None:
        """This try's streamed message will not be finished: the answer comes again, whole
        or streamed, from the retry. Stop it with a line saying so (best effort)."""
        if stream is None or not stream.started:
            return
        self._stop_stream(stream.channel_id, str(stream.ts), stream.unsent)

    def _stop_stream(self, channel_id: str, ts: str, unsent: str) -> None:
        try:
            self.client.chat_stopStream(
                channel=channel_id, ts=ts, markdown_text=unsent + f"\n\n_{INTERRUPTED}_"
            )
        except Exception as error:  # already stopped, or gone: nothing more to do
            log.info("could not stop the interrupted stream %s: %s", ts, error)

    def _team(self) -> str | None:
        """The workspace of the bot (and of the askers), needed to stream into channels."""
        if self._team_id is None:
            try:
                self._team_id = str(self.client.auth_test().get("team_id") or "") or None
            except Exception as error:
                log.info("could not look up the team id: %s", error)
        return self._team_id

    def _set_status(self, job: Job, thread_ts: str, status: str = STATUS) -> None:
        try:
            self.client.assistant_threads_setStatus(
                channel_id=job.channel_id, thread_ts=thread_ts, status=status
            )
        except Exception as error:  # cosmetic: the answer matters, the status does not
            log.info("could not set the assistant status for ref %s: %s", job.reference, error)

    def answer_unstored(self, ticket: Ticket) -> None:
        """A question the intake could not store before the ack (Slack allows 3 s).

        A slow database is not a down one: with the ack sent there is time to try once more,
        and a stored question gets the durable path (retries, no duplicates, resumed after a
        crash). Only if that fails too is it answered without a record.
        """
        try:
            job, _created = self.jobs.receive(ticket)
        except Exception as error:
            log.info("%s still not stored after the ack: %s", ticket.key, error)
            self.answer_without_store(ticket)
            return
        log.info("%s stored after the ack as ref %s", ticket.key, job.reference)
        if job.open:
            self.submit(job.id)

    def answer_without_store(self, ticket: Ticket) -> None:
        """The database is unreachable: answer anyway, straight to Slack, and say so in logs.

        The post carries the reply key, so if the question is answered again later the
        deliverer finds this message and does not post a second one.
        """
        reference = new_reference()
        log.warning(
            "database unavailable: answering %s as ref %s without recording it",
            ticket.key,
            reference,
        )
        reply = self.responder.compose(
            Ask(
                ticket.question,
                ticket.user_id,
                ticket.channel_id,
                ticket.thread_ts,
                ticket.surface,
            ),
            reference,
            with_store=False,
        )
        try:
            if ticket.response_url:
                from slack_sdk.webhook import WebhookClient

                WebhookClient(ticket.response_url).send_dict(
                    {"response_type": "ephemeral", **reply.message.to_dict()}
                )
                return
            self.client.chat_postMessage(
                channel=ticket.channel_id,
                thread_ts=ticket.thread_ts,
                metadata={
                    "event_type": METADATA_EVENT,
                    "event_payload": {"key": reply_key(reference)},
                },
                **reply.message.to_dict(),
            )
        except Exception as error:
            log.error("could not post ref %s while the database is down: %s", reference, error)

    # -- sweeping and stopping -------------------------------------------------------------

    def sweep(self) -> int:
        """Hands orphaned jobs to the pool and delivers due replies; returns jobs resumed."""
        resumed = 0
        for job_id in self.jobs.due():
            resumed += 1
            self.submit(job_id)
        self.deliverer.run_due()
        return resumed

    def start_sweeping(
        self, every_s: float, also: Callable[[], None] | None = None, also_every_s: float = 60.0
    ) -> threading.Thread:
        """Sweeps now and then every `every_s`; `also` (SLA reminders…) runs less often."""

        def loop() -> None:
            last_also = 0.0
            failing_since: float | None = None
            last_report = 0.0
            wait = every_s
            while not self._stopping.is_set():
                try:
                    resumed = self.sweep()
                    if resumed:
                        log.info("resumed %d unanswered question(s)", resumed)
                    if also is not None and time.monotonic() - last_also >= also_every_s:
                        last_also = time.monotonic()
                        also()
                    if failing_since is not None:
                        log.info("sweeps work again after %.0f s", time.monotonic() - failing_since)
                    failing_since, wait = None, every_s
                except Exception as error:  # the database may be down: back off, log rarely
                    now = time.monotonic()
                    if failing_since is None or now - last_report >= 60:
                        log.warning("sweep failed: %s", _first_line(error))
                        last_report = now
                    failing_since = failing_since or now
                    wait = min(max(wait * 2, every_s), 30.0)
                self._stopping.wait(wait)

        thread = threading.Thread(target=loop, name="coe-sweep", daemon=True)
        thread.start()
        return thread

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def begin_stop(self) -> None:
        """No new work from now on; what is running carries on (see `stop`)."""
        self._stopping.set()

    def stop(self, timeout_s: float) -> bool:
        """Stops taking work and waits for answers in progress; True if all finished.

        Questions not started yet stay "received" in the database and are answered by the
        next process or another replica; one cut off mid-post is checked before reposting.
        """
        self._stopping.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
        try:
            handed = self.jobs.hand_back()
            if handed:
                log.info("handed back %d question(s) not started yet", handed)
        except Exception as error:  # the database may be down: their leases expire anyway
            log.warning("could not hand back unstarted questions: %s", error)
        deadline = time.monotonic() + timeout_s
        with self._busy_lock:
            while self._busy and time.monotonic() < deadline:
                self._busy_lock.wait(max(0.0, deadline - time.monotonic()))
            return self._busy == 0


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"
