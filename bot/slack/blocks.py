"""Block Kit builders: pure functions from service results to Slack messages.

Every untrusted string (questions, passages, titles, owners) goes through `escape`; links are
built only from document URLs that look like plain web addresses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextActionsBlock,
    ContextBlock,
    DividerBlock,
    FeedbackButtonObject,
    FeedbackButtonsElement,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.answering.models import Answer, AnswerSentence, Source
from bot.enablement.checklists import ChecklistDoc
from bot.slack.mrkdwn import escape, link, truncate

MAX_BLOCKS = 50
SECTION_LIMIT = 3000
FALLBACK_LIMIT = 3000

ASK_EXPERT = "ask_expert"
FEEDBACK = "answer_feedback"
OPEN_CHECKLIST = "open_checklist"


@dataclass
class Message:
    """A Slack message. `text` is the notification and screen-reader fallback, written as
    plain words: it is escaped here, once, like every untrusted string in the blocks, so
    a builder can never forget it (Slack renders mrkdwn in `text` too: `<!channel>` pings)."""

    text: str
    blocks: list[Block] = field(default_factory=list)

    def to_dict(self) -> dict:
        blocks = [b.to_dict() for b in self.blocks[:MAX_BLOCKS]]
        return {"text": escape(truncate(self.text, FALLBACK_LIMIT)), "blocks": blocks}


SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_LIMIT)))


def _source_line(source: Source) -> str:
    line = f"[{source.number}] {link(source.url, source.title)}"
    if not source.url:
        line += f" (`{escape(source.source)}`)"
    if source.owner:
        line += f" — {escape(source.owner)}"
    if source.stale and source.review_by:
        line += f" :warning: _review was due {source.review_by.isoformat()}; may be out of date_"
    elif source.verified_by and source.verified_on:
        who = verified_name(source.verified_by)
        line += f" :white_check_mark: _verified by {who} on {source.verified_on.isoformat()}_"
    return line


def verified_name(by: str) -> str:
    """A Slack user id is shown as a mention (it renders as the person's name); anything
    else, typed at a terminal, as escaped text."""
    return f"<@{by}>" if SLACK_USER_ID.match(by) else escape(by)


def _expert_button(reference: str, primary: bool = False) -> ButtonElement:
    return ButtonElement(
        text="Ask a CoE expert",
        action_id=ASK_EXPERT,
        value=reference,
        style="primary" if primary else None,
    )


def _quoted(answer: Answer) -> str:
    """Sentences run on; a quoted list's items and a table's rows are bullets."""
    parts: list[str] = []
    for s in answer.sentences:
        cite = "" if s.kind == "more" else f" *{s.markers}*"
        line = f"{escape(s.text)}{cite}"
        if s.kind in ("item", "row", "more"):
            parts.append(f"\n• {line}")
        else:
            parts.append(("\n" if parts and parts[-1].startswith("\n•") else " ") + line)
    return "".join(parts).strip()


def _fallback(answer: Answer) -> str:
    return " ".join(
        s.text if s.kind == "more" else f"{s.text} {s.markers}" for s in answer.sentences
    )


def streamed_sentence(sentence: AnswerSentence, previous_kind: str | None) -> str:
    """One verified sentence as Markdown appended to a streaming message; `previous_kind` is
    the kind of the sentence before it (None for the first)."""
    line = f"{escape(sentence.text)} {sentence.markers}"
    if sentence.kind == "item":
        return f"\n- {line}"
    if previous_kind is None:
        return line
    return f"\n{line}" if previous_kind == "item" else f" {line}"


def answer_message(answer: Answer, reference: str, with_body: bool = True) -> Message:
    """`with_body=False`: what closes a streamed answer whose sentences are already shown."""
    if answer.abstained:
        return abstention_message(answer, reference)
    partial = answer.outcome == "partial"
    body = _quoted(answer)
    if partial:
        body = (
            ":mag: _This may not answer your question: it is the closest passage I found in the "
            "CoE knowledge base._\n" + body
        )
    blocks: list[Block] = [_section(body)] if with_body else []
    cited = [s for s in answer.sources if s.cited]
    further = [s for s in answer.sources if not s.cited]
    lines = ["*Sources*", *(_source_line(s) for s in cited)]
    if further:
        lines.append("_See also:_ " + ", ".join(link(s.url, s.title) for s in further))
    blocks.append(_section("\n".join(lines)))
    if answer.checklist:
        c = answer.checklist
        blocks.append(
            _section(
                f":clipboard: *Checklist:* {link(c.url, c.title)} — {c.item_count} items in "
                f"{c.section_count} sections. `/coe checklist {escape(c.title)}` shows them here."
            )
        )
    blocks.append(
        ContextActionsBlock(
            elements=[
                FeedbackButtonsElement(
                    action_id=FEEDBACK,
                    positive_button=FeedbackButtonObject(
                        text="Helpful",
                        value=f"positive:{reference}",
                        accessibility_label="Mark this answer as helpful",
                    ),
                    negative_button=FeedbackButtonObject(
                        text="Not helpful",
                        value=f"negative:{reference}",
                        accessibility_label="Mark this answer as not helpful",
                    ),
                )
            ]
        )
    )
    blocks.append(ActionsBlock(elements=[_expert_button(reference, primary=partial)]))
    written = answer.written is not None and answer.written.kept > 0
    how = (
        f"written by {escape(answer.written.model)} from {answer.searched_documents} CoE "
        "documents; every sentence checked against the source it cites"
        if written and answer.written
        else f"extracted from {answer.searched_documents} CoE documents, never generated"
    )
    context = [MarkdownTextObject(text=f"Answer ref `{reference}` · {how}")]
    if answer.note:
        context.insert(0, MarkdownTextObject(text=f":information_source: {escape(answer.note)}"))
    blocks.append(ContextBlock(elements=context))
    fallback = _fallback(answer)
    if partial:
        fallback = "This may not answer your question. The closest passage: " + fallback
    return Message(text=fallback, blocks=blocks)


def abstention_message(answer: Answer, reference: str) -> Message:
    blocks: list[Block] = [
        _section(f":mag: {escape(answer.answer)}"),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=truncate(
                        f"Searched {answer.searched_documents} CoE documents for: "
                        f"_{escape(answer.question)}_",
                        SECTION_LIMIT,
                    )
                )
            ]
        ),
    ]
    if answer.related:
        lines = ["These came closest, in case they help:"]
        lines += [f"• {link(s.url, s.title)}" for s in answer.related]
        blocks.append(_section("\n".join(lines)))
    blocks.append(ActionsBlock(elements=[_expert_button(reference, primary=True)]))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=f"ref `{reference}`")]))
    return Message(text=answer.answer, blocks=blocks)


def _where_to_ask(help_channel: str) -> str:
    return f"post the reference in {help_channel}" if help_channel else "tell the CoE team"


def error_message(reference: str, help_channel: str = "#ai-coe-help") -> Message:
    text = (
        f"Sorry — something went wrong while I was answering (reference `{reference}`). "
        f"Please try again in a minute; if it keeps happening, {_where_to_ask(help_channel)}."
    )
    return Message(text=text.replace("`", ""), blocks=[_section(f":warning: {text}")])


def rate_limited_message(limit: int) -> Message:
    text = (
        f"You have asked {limit} questions in the last minute, which is my limit per person. "
        "Please wait a moment and ask again — nothing you asked was lost, it just was not queued."
    )
    return Message(text=text, blocks=[_section(f":hourglass_flowing_sand: {text}")])


def busy_message() -> Message:
    text = "I am answering a lot of questions right now. Please ask again in a minute."
    return Message(text=text, blocks=[_section(f":hourglass_flowing_sand: {text}")])


def feedback_thanks_message(positive: bool) -> Message:
    text = (
        "Thanks — glad it helped."
        if positive
        else "Thanks for telling us. The CoE reviews unhelpful answers to improve the documents."
    )
    return Message(text=text, blocks=[_section(text)])


def checklist_list_message(checklists: list[ChecklistDoc]) -> Message:
    if not checklists:
        return Message(
            text="The knowledge base has no checklists yet.",
            blocks=[_section("The knowledge base has no checklists yet.")],
        )
    blocks: list[Block] = [HeaderBlock(text="CoE checklists")]
    for item in checklists[: MAX_BLOCKS - 3]:
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text=truncate(
                        f"*{link(item.url, item.title)}* — {item.checklist.item_count} items"
                        + (f" · owner {escape(item.owner)}" if item.owner else ""),
                        SECTION_LIMIT,
                    )
                ),
                accessory=ButtonElement(
                    text="Show", action_id=OPEN_CHECKLIST, value=item.doc_id[:2000]
                ),
            )
        )
    blocks.append(
        ContextBlock(elements=[MarkdownTextObject(text="`/coe checklist <name>` shows one here.")])
    )
    return Message(text=f"{len(checklists)} CoE checklists", blocks=blocks)


def checklist_message(item: ChecklistDoc) -> Message:
    blocks: list[Block] = [
        HeaderBlock(text=truncate(item.title, 150)),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"{item.checklist.item_count} items · {link(item.url, 'full document')}"
                    + (f" · owner {escape(item.owner)}" if item.owner else "")
                )
            ]
        ),
    ]
    blocks.append(
        ActionsBlock(
            elements=[
                ButtonElement(
                    text="Start for this channel",
                    action_id="checklist_start",
                    value=item.doc_id[:2000],
                    style="primary",
                )
            ]
        )
    )
    for section in item.checklist.sections:
        if len(blocks) >= MAX_BLOCKS - 1:
            blocks.append(_section(f"…more in the {link(item.url, 'full document')}"))
            break
        lines = [f"*{escape(section.title)}*"] + [f"☐ {escape(i)}" for i in section.items]
        blocks.append(_section("\n".join(lines)))
    return Message(text=f"{item.title}: {item.checklist.item_count} items", blocks=blocks)


def not_found_checklist_message(name: str, checklists: list[ChecklistDoc]) -> Message:
    names = ", ".join(c.title for c in checklists) or "none yet"
    text = f"No checklist matches “{name}”. Available: {names}."
    return Message(text=text, blocks=[_section(escape(text))])


def delivery_failed_message(reference: str, help_channel: str = "#ai-coe-help") -> Message:
    text = (
        f"Sorry — your answer took too long to reach you, and I gave up trying (reference "
        f"{reference}). Please ask again; if it keeps happening, {_where_to_ask(help_channel)}."
    )
    return Message(text=text, blocks=[_section(f":warning: {escape(text)}")])


def listener_error_message(reference: str, help_channel: str = "#ai-coe-help") -> Message:
    text = (
        f"Sorry — something went wrong with that (reference {reference}). Nothing was "
        f"changed. Please try again; if it keeps happening, {_where_to_ask(help_channel)}."
    )
    return Message(text=text, blocks=[_section(f":warning: {escape(text)}")])


def refusal_message(text: str) -> Message:
    return Message(text=text, blocks=[_section(f":no_entry: {escape(text)}")])


def help_message() -> Message:
    text = "\n".join(
        [
            "*CoE Assistant* answers from the AI CoE knowledge base, always with sources.",
            "• Mention me in a channel, or message me directly. Follow-ups in the same thread "
            "need no mention.",
            "• `/coe ask <question>` — ask privately from any channel",
            "• `/coe consult` — ask the CoE team for help (a consultation request)",
            "• `/coe training` — upcoming training sessions",
            '• `/coe workshop start "name"` / `/coe workshop end` — for trainers',
            "• `/coe stats` — the CoE's headline figures (CoE staff)",
            "• `/coe checklist` — list the checklists; `/coe checklist <name>` shows one",
            "• `/coe help` — this message",
            "• Message shortcut *Ask the CoE about this* — ask about any message",
            "If the knowledge base does not cover something, I say so and offer a CoE expert.",
        ]
    )
    return Message(text="How to use the CoE Assistant", blocks=[_section(text)])


def divider() -> DividerBlock:
    return DividerBlock()
