"""Block Kit for training, workshops, checklist runs and the staff's headline figures."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    CheckboxesElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    Option,
    SectionBlock,
)

from bot.enablement.metrics import ImpactMetrics
from bot.enablement.runs import RunView, item_key
from bot.enablement.training import TrainingSession
from bot.enablement.workshops import WorkshopSummary
from bot.slack.blocks import MAX_BLOCKS, Message
from bot.slack.mrkdwn import escape, link, truncate

TICK = "checklist_tick"
START_RUN = "checklist_start"
OPTIONS_PER_GROUP = 10  # Slack's limit for one checkboxes element
OPTION_TEXT = 75


def training_message(sessions: list[TrainingSession]) -> Message:
    if not sessions:
        text = "No upcoming training sessions are listed in the knowledge base."
        return Message(text=text, blocks=[SectionBlock(text=MarkdownTextObject(text=text))])
    blocks: list[Block] = [HeaderBlock(text="Upcoming CoE training")]
    for s in sessions[: MAX_BLOCKS - 2]:
        materials = f" · {link(s.materials, 'materials')}" if s.materials else ""
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text=truncate(
                        f"*{s.day:%a %d %b %Y}* — {escape(s.title)}\n_{escape(s.audience)}_{materials}",
                        3000,
                    )
                )
            )
        )
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(text="From the training catalogue in the CoE knowledge base.")
            ]
        )
    )
    return Message(text=f"{len(sessions)} upcoming training sessions", blocks=blocks)


def workshop_welcome(
    name: str, trainer_id: str, materials: list[tuple[str, str | None]]
) -> Message:
    lines = [
        f":wave: *Welcome to the workshop “{escape(name)}”* run by <@{trainer_id}>.",
        "Ask me anything about the topic: mention me (`@CoE Assistant your question`) right here, "
        "and I answer in a thread with sources. Follow-ups in that thread need no mention.",
    ]
    if materials:
        lines.append("*Materials:* " + " · ".join(link(url, title) for title, url in materials))
    text = "\n".join(lines)
    return Message(
        text=f"Workshop {name} started",
        blocks=[SectionBlock(text=MarkdownTextObject(text=truncate(text, 3000)))],
    )


def workshop_summary(summary: WorkshopSummary) -> Message:
    lines = [
        f"*Workshop “{escape(summary.name)}” is over.* Here is what attendees asked in <#{summary.channel_id}>:",
        f"• {summary.questions} questions: {summary.answered} answered, {summary.abstained} not in the knowledge base",
        f"• feedback: {summary.helpful} helpful, {summary.not_helpful} not helpful",
    ]
    if summary.unanswered:
        lines.append("*To improve the material, these went unanswered or unhelped:*")
        lines += [f"• {escape(truncate(q, 200))}" for q in summary.unanswered[:20]]
    return Message(
        text=f"Summary of workshop {summary.name}",
        blocks=[SectionBlock(text=MarkdownTextObject(text=truncate("\n".join(lines), 3000)))],
    )


def run_message(run: RunView, current_version: str | None) -> Message:
    blocks: list[Block] = [
        HeaderBlock(text=truncate(run.title, 150)),
        SectionBlock(
            text=MarkdownTextObject(
                text=f"*{len(run.done)} of {run.total} done* · started by <@{run.started_by}> · anyone here can tick items"
            )
        ),
    ]
    if current_version and current_version != run.version:
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=":warning: The checklist document has changed since this run started; this run keeps "
                        f"the version it started with ({run.version})."
                    )
                ]
            )
        )
    for s_index, section in enumerate(run.sections):
        items = section["items"]
        for start in range(0, len(items), OPTIONS_PER_GROUP):
            if len(blocks) >= MAX_BLOCKS - 2:
                break
            options = [
                Option(value=item_key(s_index, i), text=truncate(items[i], OPTION_TEXT))
                for i in range(start, min(start + OPTIONS_PER_GROUP, len(items)))
            ]
            checked = [o for o in options if o.value in run.done]
            if start == 0:
                blocks.append(
                    SectionBlock(text=MarkdownTextObject(text=f"*{escape(section['title'])}*"))
                )
            blocks.append(
                ActionsBlock(
                    block_id=f"run:{run.id}:{s_index}:{start}",
                    elements=[
                        CheckboxesElement(
                            action_id=TICK, options=options, initial_options=checked or None
                        )
                    ],
                )
            )
    return Message(
        text=f"{run.title}: {len(run.done)} of {run.total} done", blocks=blocks[:MAX_BLOCKS]
    )


def stats_message(m: ImpactMetrics) -> Message:
    helpful = "—" if m.helpful_rate is None else f"{m.helpful_rate * 100:.0f} %"
    answered_share = f"{m.answered / m.questions * 100:.0f} %" if m.questions else "—"
    ttfr = "—" if m.median_first_response_hours is None else f"{m.median_first_response_hours} h"
    text = "\n".join(
        [
            f"*CoE figures, {m.period_from:%d %b} – {m.period_to:%d %b %Y}*",
            f"• Questions: *{m.questions}* ({answered_share} answered, {m.abstained} not in the knowledge base)",
            f"• Helpful rate: *{helpful}* ({m.feedback_positive} helpful, {m.feedback_negative} not)",
            f"• Consultation requests: *{m.consultations_opened}* opened, *{m.consultations_resolved}* resolved, "
            f"median first response {ttfr}",
            f"• Checklist runs: *{len(m.checklists)}*",
            f"• Knowledge gaps: *{len(m.knowledge_gaps)}* topics (`coe report` groups them)",
            *_model_line(m),
        ]
    )
    return Message(text="CoE figures", blocks=[SectionBlock(text=MarkdownTextObject(text=text))])


def _model_line(m: ImpactMetrics) -> list[str]:
    u = m.model
    if u is None:
        return []
    rate = "—" if u.fallback_rate is None else f"{u.fallback_rate * 100:.0f} %"
    return [
        f"• Answer model: *{u.written}* written answers of {u.questions}, fallback rate "
        f"*{rate}*, {u.sentences_dropped} sentences dropped by verification, "
        f"{u.tokens_in + u.tokens_out:,} tokens"
    ]


def staff_home_blocks(figures: ImpactMetrics, runs: list[RunView], limit: int = 12) -> list[Block]:
    from slack_sdk.models.blocks import DividerBlock

    blocks: list[Block] = [DividerBlock(), HeaderBlock(text="CoE figures, last 90 days")]
    blocks += stats_message(figures).blocks
    blocks.append(HeaderBlock(text="Checklist runs"))
    if not runs:
        blocks.append(SectionBlock(text=MarkdownTextObject(text="No checklist runs yet.")))
    for run in runs[:limit]:
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text=truncate(
                        f"*{escape(run.title)}* in <#{run.channel_id}> — {len(run.done)} of {run.total} done",
                        3000,
                    )
                )
            )
        )
    return blocks
