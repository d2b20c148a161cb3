"""Every message builder escapes untrusted text in the notification `text` exactly as in its
blocks: no document, question, title or name can make the bot ping a channel or fake a link."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from bot.answering.models import Answer, AnswerSentence, Source
from bot.consultations.models import (
    RequestContext,
    RequestType,
    RequestView,
    Status,
    Urgency,
)
from bot.enablement.checklists import ChecklistDoc
from bot.enablement.runs import RunView
from bot.enablement.workshops import WorkshopSummary
from bot.slack import blocks, consult_blocks, enablement_blocks
from bot.slack.mrkdwn import escape
from ingest.checklists import Checklist, ChecklistSection

HOSTILE = "<!channel> <@U999> <https://evil.example|click> &"


def _request() -> RequestView:
    now = datetime.now(UTC)
    return RequestView(
        id=1,
        public_id="CR-0001",
        requester_id="U1",
        team=HOSTILE,
        type=RequestType("launch-readiness"),
        urgency=Urgency("high"),
        priority=None,
        title=HOSTILE,
        description=HOSTILE,
        links=[],
        context=RequestContext(question=HOSTILE),
        status=Status.NEW,
        assignee_id=None,
        created_at=now,
        updated_at=now,
        first_response_at=None,
        resolved_at=None,
        posted=True,
        post_error=None,
        triage_channel_id="CT",
        triage_ts="1.1",
    )


def _checklist() -> ChecklistDoc:
    return ChecklistDoc(
        doc_id="c.md",
        title=HOSTILE,
        source="c.md",
        url=None,
        owner=HOSTILE,
        checklist=Checklist(
            sections=[ChecklistSection(title=HOSTILE, items=[HOSTILE])], version="v1"
        ),
    )


def _answer(abstained: bool = False) -> Answer:
    source = Source(number=1, title=HOSTILE, source="a.md", doc_id="a.md", text=HOSTILE)
    return Answer(
        question=HOSTILE,
        abstained=abstained,
        answer=HOSTILE,
        sentences=[AnswerSentence(text=HOSTILE, source_number=1)],
        sources=[source],
        related=[source],
    )


MESSAGES = {
    "answer": lambda: blocks.answer_message(_answer(), "REF12345"),
    "abstention": lambda: blocks.abstention_message(_answer(abstained=True), "REF12345"),
    "checklist": lambda: blocks.checklist_message(_checklist()),
    "checklist list": lambda: blocks.checklist_list_message([_checklist()]),
    "checklist not found": lambda: blocks.not_found_checklist_message(HOSTILE, [_checklist()]),
    "refusal": lambda: blocks.refusal_message(HOSTILE),
    "triage card": lambda: consult_blocks.triage_message(_request()),
    "requester update": lambda: consult_blocks.requester_update(_request(), "updated", HOSTILE),
    "confirmation": lambda: consult_blocks.confirmation(_request(), "within one working day"),
    "sla reminder": lambda: consult_blocks.sla_reminder(_request()),
    "thread note": lambda: consult_blocks.thread_note(escape(HOSTILE), HOSTILE),
    "workshop welcome": lambda: enablement_blocks.workshop_welcome(HOSTILE, "U1", []),
    "workshop summary": lambda: enablement_blocks.workshop_summary(
        WorkshopSummary(
            workshop_id=1,
            name=HOSTILE,
            channel_id="C1",
            trainer_id="U1",
            questions=1,
            answered=0,
            abstained=1,
            helpful=0,
            not_helpful=0,
            unanswered=[HOSTILE],
        )
    ),
    "checklist run": lambda: enablement_blocks.run_message(
        RunView(
            id=1,
            channel_id="C1",
            doc_id="c.md",
            title=HOSTILE,
            version="v1",
            sections=[{"title": HOSTILE, "items": [HOSTILE]}],
            started_by="U1",
            message_ts=None,
            done=set(),
            ticked_by={},
        ),
        "v1",
    ),
}


def _mrkdwn(node) -> list[str]:
    """Texts Slack parses as mrkdwn; plain_text objects show `<!channel>` literally."""
    found: list[str] = []
    if isinstance(node, dict):
        if node.get("type") == "mrkdwn":
            found.append(node.get("text", ""))
        for value in node.values():
            found += _mrkdwn(value)
    elif isinstance(node, list):
        for value in node:
            found += _mrkdwn(value)
    return found


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_untrusted_text_is_inert_in_fallback_text_and_blocks(name):
    message = MESSAGES[name]().to_dict()
    assert _mrkdwn(message["blocks"]), "a builder without mrkdwn proves nothing here"
    for where, text in (
        ("text", message["text"]),
        ("blocks", "\n".join(_mrkdwn(message["blocks"]))),
    ):
        for raw in ("<!channel>", "<@U999>", "<https://evil"):
            assert raw not in text, f"{name}: {raw} reached {where}"
    if HOSTILE.split()[0] in json.dumps(MESSAGES[name]().text):
        assert "&lt;!channel&gt;" in message["text"]  # shown as text, not dropped


def test_fallback_text_is_escaped_once_not_twice():
    message = blocks.not_found_checklist_message("R&D <tools>", []).to_dict()
    assert "R&amp;D &lt;tools&gt;" in message["text"]
    assert "&amp;amp;" not in message["text"] + json.dumps(message["blocks"])


def test_a_date_in_an_answer_survives_escaping():
    source = Source(
        number=1,
        title="T",
        source="a.md",
        doc_id="a.md",
        text="x",
        review_by=date(2020, 1, 1),
        stale=True,
    )
    answer = Answer(
        question="q",
        abstained=False,
        answer="a",
        sentences=[AnswerSentence(text="Fine & dandy", source_number=1)],
        sources=[source],
    )
    assert blocks.answer_message(answer, "REF12345").to_dict()["text"] == "Fine &amp; dandy [1]"
