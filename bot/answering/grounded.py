"""What the model is told: numbered passages to answer from, or a thread to make a question of.

Pure functions, so the exact wording is testable and the same everywhere.
"""

from __future__ import annotations

from bot.answering.retrieval import Passage

# The model's whole reply when the passages do not answer the question.
NOT_IN_SOURCES = "NOT_IN_SOURCES"
PASSAGE_CHARS = 1800
TURN_CHARS = 400

ANSWER_RULES = f"""You answer questions for a company's AI Center of Excellence (CoE).
Answer ONLY from the numbered sources below. Do not use anything else you know.
- End every sentence with the number of the source that supports it, like [1] or [2][3].
- Keep names, numbers, dates and terms exactly as the sources write them.
- Answer in at most 5 short sentences or list items, in plain Markdown, without headings.
- If the sources do not answer the question, reply with exactly {NOT_IN_SOURCES} and nothing else."""

REWRITE_RULES = """Rewrite the user's last message as one standalone question that can be
understood without the conversation. Keep its meaning and wording where possible; fill in only
what the earlier turns make clear. Reply with the question alone."""


def source_block(number: int, passage: Passage) -> str:
    chunk = passage.chunk
    where = f"{chunk.title} — {chunk.heading}" if chunk.heading else chunk.title
    text = chunk.text if len(chunk.text) <= PASSAGE_CHARS else chunk.text[:PASSAGE_CHARS] + "…"
    return f"[{number}] {where}\n{text}"


def answer_messages(question: str, passages: list[Passage]) -> list[dict[str, str]]:
    sources = "\n\n".join(source_block(n, p) for n, p in enumerate(passages, 1))
    return [
        {"role": "system", "content": f"{ANSWER_RULES}\n\nSources:\n\n{sources}"},
        {"role": "user", "content": question},
    ]


def rewrite_messages(question: str, turns: list[tuple[str, str]]) -> list[dict[str, str]]:
    """`turns` are the thread's earlier (question, answer) pairs, oldest first."""
    lines = []
    for asked, answered in turns:
        lines.append(f"User: {asked[:TURN_CHARS]}")
        if answered:
            lines.append(f"Assistant: {answered[:TURN_CHARS]}")
    lines.append(f"User (last message): {question}")
    return [
        {"role": "system", "content": REWRITE_RULES},
        {"role": "user", "content": "\n".join(lines)},
    ]


def is_not_in_sources(text: str) -> bool:
    """The marker, allowing for stray punctuation or formatting around it."""
    return text.strip().strip("`*_.\"' ").upper() == NOT_IN_SOURCES


def may_become_marker(text: str) -> bool:
    """Whether a reply that starts like this could still turn out to be the marker."""
    stripped = text.strip().lstrip("`*_\"' ").upper()
    return NOT_IN_SOURCES.startswith(stripped[: len(NOT_IN_SOURCES)])


def clean_rewrite(text: str, original: str) -> str:
    """The model's standalone question, or the original when the reply is not usable."""
    line = " ".join(text.strip().strip("\"'").split())
    if line.lower().startswith("question:"):
        line = line[len("question:") :].strip()
    if not line or len(line) > 4 * max(len(original), 80):
        return original
    return line
