"""Written answers against a local OpenAI-compatible double with a fixed latency profile.

For every in-scope golden question: the time to the first verified sentence, the time to the
whole answer, and the same request replayed straight to the double with the bare `openai`
client. Their difference is what our pipeline adds over the model's own latency: the search
and decision (which the extractive path pays as well, reported apart), then the prompt, the
verification of every sentence and the final answer ("added by writing").

    python -m benchmarks.bench_written --ttft-ms 300 --chunk-ms 15
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bot.answering.events import Final, Verified
from bot.answering.llm import ChatModel, ModelConfig
from bot.answering.service import AnswerService
from bot.answering.written import AnswerWriter
from bot.evaluation.golden import load_golden
from ingest.pipeline import run_ingest
from tests.llm_double import LLMDouble, Reply

SENTENCES = 3


def _percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def three_cited_lines(ttft_s: float, chunk_s: float):
    """A model that answers with the first full line of sources 1-3, each cited."""

    def make(body: dict[str, Any]) -> Reply:
        prompt = str(body["messages"][0]["content"]).split("Sources:", 1)[-1]
        lines = []
        for n in range(1, SENTENCES + 1):
            if f"\n[{n}] " not in prompt:
                break
            block = prompt.split(f"\n[{n}] ", 1)[1].split(f"\n[{n + 1}] ", 1)[0]
            for line in block.splitlines()[1:]:
                text = line.strip().removeprefix("- [ ]").removeprefix("-").strip()
                if len(text.split()) >= 5 and not text.startswith("|"):
                    lines.append(f"{text.split('. ')[0].rstrip('.;:')} [{n}].")
                    break
        return Reply(" ".join(lines) or "NOT_IN_SOURCES", stall_s=ttft_s, chunk_delay_s=chunk_s)

    return make


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ttft-ms", type=float, default=300.0, help="the double's first token")
    parser.add_argument("--chunk-ms", type=float, default=15.0, help="between 12-char chunks")
    parser.add_argument("--data-dir", type=Path, help="an index to reuse (else the bundled KB)")
    args = parser.parse_args()
    from openai import OpenAI

    with tempfile.TemporaryDirectory() as tmp, LLMDouble() as llm:
        data = args.data_dir
        if data is None:
            data = Path(tmp) / "data"
            from ingest import bundled_knowledge_dir

            run_ingest([bundled_knowledge_dir()], data, 10_000_000)
        llm.default = three_cited_lines(args.ttft_ms / 1000, args.chunk_ms / 1000)
        writer = AnswerWriter(
            ChatModel(ModelConfig(base_url=llm.base_url, model="bench", timeout_s=30))
        )
        service = AnswerService(data, writer=writer)
        service.warm_up()
        raw = OpenAI(base_url=llm.base_url, api_key="x", max_retries=0)
        first: list[float] = []
        total: list[float] = []
        own_first: list[float] = []
        own_total: list[float] = []
        added: list[float] = []
        added_first: list[float] = []
        search: list[float] = []
        questions = [q.question for q in load_golden().questions if not q.out_of_scope]
        for question in questions:
            sent = len(llm.chat_requests())
            began = time.perf_counter()
            first_at = None
            answer = None
            for event in service.stream(question):
                if isinstance(event, Verified) and first_at is None:
                    first_at = time.perf_counter() - began
                if isinstance(event, Final):
                    answer = event.answer
            took = time.perf_counter() - began
            if answer is None or first_at is None or len(llm.chat_requests()) == sent:
                continue  # declined before the model, or nothing verified: not comparable
            body = llm.chat_requests()[-1]
            # The double's own latency for the identical request, with the bare client.
            replay_began = time.perf_counter()
            text = ""
            replay_first = None
            for chunk in raw.chat.completions.create(**{**body, "stream": True}):
                for choice in chunk.choices:
                    text += choice.delta.content or ""
                if replay_first is None and "]." in text:
                    replay_first = time.perf_counter() - replay_began
            replay = time.perf_counter() - replay_began
            # What the extractive path pays too: embedding the question, search, the decision.
            search_began = time.perf_counter()
            service.find(question, question, False)
            search.append((time.perf_counter() - search_began) * 1000)
            first.append(first_at * 1000)
            total.append(took * 1000)
            own_first.append((replay_first or replay) * 1000)
            own_total.append(replay * 1000)
            added.append((took - replay) * 1000)
            added_first.append((first_at - (replay_first or replay)) * 1000)
    print(
        json.dumps(
            {
                "questions_written": len(total),
                "double_ttft_ms": args.ttft_ms,
                "double_chunk_ms": args.chunk_ms,
                "first_sentence_p50_ms": round(statistics.median(first), 1),
                "first_sentence_p95_ms": round(_percentile(first, 95), 1),
                "double_first_sentence_p50_ms": round(statistics.median(own_first), 1),
                "answer_p50_ms": round(statistics.median(total), 1),
                "answer_p95_ms": round(_percentile(total, 95), 1),
                "double_alone_p50_ms": round(statistics.median(own_total), 1),
                "added_p50_ms": round(statistics.median(added), 1),
                "added_p95_ms": round(_percentile(added, 95), 1),
                "added_to_first_sentence_p95_ms": round(_percentile(added_first, 95), 1),
                "of_which_search_p50_ms": round(statistics.median(search), 1),
                "added_by_writing_p50_ms": round(
                    statistics.median(a - s for a, s in zip(added, search, strict=True)), 1
                ),
                "added_by_writing_p95_ms": round(
                    _percentile([a - s for a, s in zip(added, search, strict=True)], 95), 1
                ),
            }
        )
    )


if __name__ == "__main__":
    main()
