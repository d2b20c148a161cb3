"""Answers written by a model (a local OpenAI-compatible double), checked before they are shown.

Through the CLI as a user runs it (`coe ask --json`, `coe chat`, `coe llm check`) and through
the answer service for what needs one long-lived process (the circuit breaker).
"""

from __future__ import annotations

import json
import time

import pytest

from bot.answering.events import Final, Status, Verified
from bot.answering.llm import ChatModel, CircuitBreaker, ModelConfig
from bot.answering.service import AnswerService
from bot.answering.written import AnswerWriter
from tests.llm_double import LLMDouble, Reply, citing

CHARTER = "AI Center of Excellence Charter"
QUESTION = "do we need CoE approval to launch a feature?"
GOOD = "Low- and medium-risk launches are self-certified by the product team [{n}]."
ALSO_GOOD = "Only high-risk launches need a CoE sign-off [{n}]."


@pytest.fixture()
def llm():
    with LLMDouble() as double:
        yield double


def _env(llm: LLMDouble, **more: str) -> dict[str, str]:
    return {
        "COE_LLM_BASE_URL": llm.base_url,
        "COE_LLM_MODEL": "coe-test-model",
        "COE_LLM_API_KEY": "secret-key",
        "COE_LLM_TIMEOUT_S": "5",
        **more,
    }


def _ask(cli, kb_data, llm, question: str = QUESTION, *extra: str, **env: str) -> dict:
    return cli.json("ask", question, "--data-dir", str(kb_data), *extra, env=_env(llm, **env))


def test_a_written_answer_cites_the_passages_that_support_it(cli, kb_data, llm):
    llm.script(citing(CHARTER, GOOD, ALSO_GOOD))
    answer = _ask(cli, kb_data, llm)
    assert answer["outcome"] == "answered"
    assert answer["answer"] == (
        "Low- and medium-risk launches are self-certified by the product team. [1] "
        "Only high-risk launches need a CoE sign-off. [1]"
    )
    assert [s["doc_id"] for s in answer["sources"]] == ["charter/coe-charter.md"]
    written = answer["written"]
    assert written["model"] == "coe-test-model" and written["kept"] == 2
    assert written["dropped"] == [] and written["fallback"] is None
    assert written["tokens_in"] > 100 and written["tokens_out"] > 5
    assert written["first_sentence_ms"] is not None and written["total_ms"] > 0
    request = llm.chat_requests()[0]
    assert request["model"] == "coe-test-model" and request["stream"] is True
    assert request["temperature"] == 0
    prompt = request["messages"][0]["content"]
    assert "[1] " in prompt and CHARTER in prompt and "NOT_IN_SOURCES" in prompt
    assert request["messages"][1] == {"role": "user", "content": QUESTION}
    headers = llm.requests[0].headers
    assert headers["authorization"] == "Bearer secret-key"


def test_an_invented_number_or_name_is_dropped_and_recorded(cli, kb_data, llm):
    llm.script(
        citing(
            CHARTER,
            GOOD,
            "High-risk launches need approval from Jordan Blake within 14 days [{n}].",
        )
    )
    answer = _ask(cli, kb_data, llm)
    assert "Jordan" not in answer["answer"] and "14" not in answer["answer"]
    assert answer["written"]["kept"] == 1
    (dropped,) = answer["written"]["dropped"]
    assert "14" in dropped["reason"] and "Jordan" in dropped["reason"]
    assert answer["note"] == (
        "1 sentence of the written answer was left out: the sources do not support it."
    )


def test_a_citation_to_a_passage_that_does_not_exist_is_removed(cli, kb_data, llm):
    llm.script(
        citing(CHARTER, "Only high-risk launches need a CoE sign-off [{n}][9].", "Ask finance [9].")
    )
    answer = _ask(cli, kb_data, llm)
    assert answer["answer"] == "Only high-risk launches need a CoE sign-off. [1]"
    assert "[9]" not in answer["answer"]
    (dropped,) = answer["written"]["dropped"]
    assert dropped["text"] == "Ask finance." and "[9]" in dropped["reason"]


def test_the_not_in_sources_marker_gives_the_honest_decline(cli, kb_data, llm):
    llm.script(Reply("NOT_IN_SOURCES", chunks=["NOT_", "IN_SO", "URCES"]))
    answer = _ask(cli, kb_data, llm)
    assert answer["outcome"] == "declined" and answer["abstained"]
    assert "consultation request" in answer["answer"]
    assert answer["written"]["fallback"] == "the model found no answer in the sources"


def test_a_model_that_never_cites_gives_the_quotes_with_a_note(cli, kb_data, llm):
    llm.script(Reply("Low- and medium-risk launches are self-certified by the product team."))
    answer = _ask(cli, kb_data, llm)
    assert answer["outcome"] == "answered"
    assert answer["written"]["kept"] == 0
    assert answer["written"]["dropped"][0]["reason"] == "cites no source"
    assert answer["note"].startswith("Quoted from the sources")
    assert answer["sentences"] and "[1]" in answer["answer"]


@pytest.mark.parametrize(
    ("replies", "reason"),
    [
        ([Reply(stall_s=3)], "no answer within the time limit"),
        ([Reply(status=500)] * 3, "the model answered 500"),
        ([Reply(status=429, retry_after=60)], "the model is rate limited"),
        ([Reply(text="Only high-risk", stall_after_chunks=1, stall_mid_s=3)], "time limit"),
        ([Reply(text="Only high-risk launches", malformed=True)], "stream broke"),
    ],
    ids=["timeout", "500s", "429-too-long", "stalls-mid-stream", "malformed"],
)
def test_a_failing_model_falls_back_to_quotes_within_the_timeout(
    cli, kb_data, llm, replies, reason
):
    llm.script(*replies)
    started = time.monotonic()
    answer = _ask(cli, kb_data, llm, COE_LLM_TIMEOUT_S="1.5")
    took = time.monotonic() - started
    assert reason in answer["written"]["fallback"]
    assert answer["outcome"] == "answered" and answer["sentences"]
    assert answer["note"].startswith("Quoted from the sources")
    assert answer["written"]["total_ms"] < 2500  # the timeout plus a margin, not a hang
    assert took < 30  # the whole CLI run, model loading included


def test_a_429_is_retried_after_retry_after_then_succeeds(cli, kb_data, llm):
    llm.script(Reply(status=429, retry_after=0.5), citing(CHARTER, ALSO_GOOD))
    answer = _ask(cli, kb_data, llm)
    assert answer["answer"] == "Only high-risk launches need a CoE sign-off. [1]"
    first, second = llm.chat_requests()
    assert first == second
    gap = llm.requests[1].at - llm.requests[0].at
    assert gap >= 0.5


def test_a_thread_follow_up_is_rewritten_before_searching(kb_data, llm):
    llm.script(
        Reply("How far ahead must a red-teaming exercise be booked?"),
        Reply("NOT_IN_SOURCES"),
    )
    service = AnswerService(kb_data, writer=_writer(llm))
    events = list(
        service.stream(
            "and how far ahead?",
            turns=[("How do we book a red-teaming exercise?", "Book it through the form. [1]")],
        )
    )
    rewrite, answer = llm.chat_requests()
    conversation = rewrite["messages"][1]["content"]
    assert "User: How do we book a red-teaming exercise?" in conversation
    assert "Assistant: Book it through the form. [1]" in conversation
    assert "User (last message): and how far ahead?" in conversation
    assert rewrite["stream"] is False
    # The search and the model both get the standalone question.
    assert answer["messages"][1]["content"] == (
        "How far ahead must a red-teaming exercise be booked?"
    )
    assert "red-teaming" in answer["messages"][0]["content"].lower()
    final = events[-1]
    assert isinstance(final, Final)
    assert final.answer.question == "and how far ahead?"
    assert final.answer.written is not None
    assert final.answer.written.standalone_question == (
        "How far ahead must a red-teaming exercise be booked?"
    )


STAFF_QUESTION = "what discount tiers and renewal dates do we have with model vendors?"


def test_staff_only_passages_are_never_sent_for_a_non_staff_asker(cli, kb_data, llm):
    llm.default = Reply("NOT_IN_SOURCES")
    for question in (STAFF_QUESTION, "which model vendors are approved?"):
        _ask(cli, kb_data, llm, question)
    for request in llm.chat_requests():  # whatever reached the model for a non-staff asker
        assert "Vendor Negotiation Notes" not in request["messages"][0]["content"]
    sent = len(llm.chat_requests())
    _ask(cli, kb_data, llm, STAFF_QUESTION, "--staff")
    (staff,) = llm.chat_requests()[sent:]
    assert "Vendor Negotiation Notes" in staff["messages"][0]["content"]


def test_the_circuit_breaker_skips_a_dead_model_then_tries_it_again(kb_data, llm):
    clock = [0.0]
    writer = AnswerWriter(
        ChatModel(
            ModelConfig(base_url=llm.base_url, model="coe-test-model", timeout_s=3),
            CircuitBreaker(failures=2, cooldown_s=60, clock=lambda: clock[0]),
        )
    )
    service = AnswerService(kb_data, writer=writer)
    llm.script(Reply(status=503), Reply(status=503), Reply(status=503), Reply(status=503))
    llm.script(Reply(status=503), Reply(status=503))
    for _ in range(2):
        assert service.ask(QUESTION).written.fallback == "the model answered 503"  # type: ignore[union-attr]
    sent = len(llm.chat_requests())
    skipped = service.ask(QUESTION)
    assert skipped.written is not None and "skipped for a while" in str(skipped.written.fallback)
    assert len(llm.chat_requests()) == sent  # open: the model was not called
    clock[0] = 61  # after the cool-down one question tries it, and it answers
    llm.script(citing(CHARTER, ALSO_GOOD))
    tried = service.ask(QUESTION)
    assert tried.written is not None and tried.written.kept == 1
    assert writer.model.breaker.state == "closed"


def test_without_a_model_answers_are_unchanged_and_no_model_is_called(cli, kb_data, llm):
    answer = cli.json("ask", QUESTION, "--data-dir", str(kb_data))
    assert "written" not in answer and "note" not in answer
    assert all("source_numbers" not in s for s in answer["sentences"])
    assert set(answer) == {
        "question",
        "abstained",
        "outcome",
        "answer",
        "sentences",
        "sources",
        "checklist",
        "searched_documents",
        "related",
        "evidence",
        "latency_ms",
    }
    text = cli("ask", QUESTION, "--data-dir", str(kb_data)).stdout
    assert "Written by" not in text
    assert llm.requests == []


def test_coe_chat_streams_verified_sentences_to_the_terminal(cli, kb_data, llm):
    llm.script(citing(CHARTER, GOOD, "It needs approval from the CFO [{n}].", ALSO_GOOD))
    result = cli("chat", "--data-dir", str(kb_data), input=QUESTION + "\n", env=_env(llm))
    assert result.exit_code == 0, result.output
    out = " ".join(result.stdout.split())
    assert "self-certified by the product team. [1] Only high-risk launches" in out
    assert "CFO" not in out
    assert "Written by coe-test-model" in out and "1 sentence of the written answer" in out
    assert "Sources" in out and "AI Center of Excellence Charter" in out


def test_coe_chat_json_gives_the_final_answer_per_line(cli, kb_data, llm):
    llm.script(citing(CHARTER, ALSO_GOOD))
    result = cli("chat", "--data-dir", str(kb_data), "--json", input=QUESTION + "\n", env=_env(llm))
    (line,) = result.stdout.strip().splitlines()
    assert json.loads(line)["written"]["kept"] == 1


def test_coe_llm_check_reports_what_it_found(cli, llm):
    llm.script(Reply("Tuesdays at 10:00 [1]."))
    result = cli("llm", "check", env=_env(llm))
    assert result.exit_code == 0, result.output
    assert "serves coe-test-model" in result.stdout and "Ready" in result.stdout
    llm.script(Reply("Tuesdays at 10:00."))
    uncited = cli("llm", "check", env=_env(llm))
    assert uncited.exit_code == 1 and "cites no source" in uncited.stdout
    llm.script(Reply(status=401, text="invalid api key"))
    refused = cli("llm", "check", env=_env(llm))
    assert refused.exit_code == 1 and "did not answer: the model answered 401" in refused.output
    unset = cli("llm", "check")
    assert unset.exit_code == 1 and "No model configured" in unset.output


def test_service_events_come_in_order(kb_data, llm):
    llm.script(citing(CHARTER, GOOD, ALSO_GOOD, chunk_chars=5))
    events = list(AnswerService(kb_data, writer=_writer(llm)).stream(QUESTION))
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["Status", "Status", "Verified", "Verified", "Final"]
    assert isinstance(events[0], Status) and "searching" in events[0].text
    assert isinstance(events[2], Verified) and events[2].sentence.markers == "[1]"


def _writer(llm: LLMDouble) -> AnswerWriter:
    return AnswerWriter(
        ChatModel(ModelConfig(base_url=llm.base_url, model="coe-test-model", timeout_s=5))
    )


def test_coe_eval_llm_compares_both_paths_and_reports_what_was_dropped(cli, kb_data, llm, tmp_path):
    from tests.llm_double import quoting_model

    golden = tmp_path / "golden.yaml"
    golden.write_text(
        """questions:
  - question: "who owns red-teaming?"
    expected: [standards/red-teaming-standard.md]
  - question: "do we need CoE approval to launch a feature?"
    expected: [charter/coe-charter.md, standards/ai-launch-standard.md]
  - question: "is there a tick list we go through before an AI feature goes live?"
    expected: [checklists/ai-feature-launch-readiness.md]
  - question: "how do I get an API key for the model gateway?"
    expected: [playbooks/model-gateway-onboarding.md]
  - question: "can i expense a team lunch?"
    out_of_scope: true
  - question: "will it rain in Lisbon tomorrow?"
    out_of_scope: true
""",
        encoding="utf-8",
    )
    llm.default = quoting_model(invent="It was approved by Jordan Blake in 2019 [1].")
    args = ["eval", "--data-dir", str(kb_data), "--golden", str(golden), "--no-baseline"]
    result = cli(*args, "--llm", "--json", env=_env(llm))
    report = json.loads(result.stdout)
    written = report["llm"]
    assert written["model"] == "coe-test-model"
    assert written["written"] >= 3 and written["sentences_kept"] >= written["written"]
    # Every invented sentence was dropped, each for the name or year it made up.
    assert written["sentences_dropped"] >= written["written"]
    assert "Jordan" not in json.dumps(written["not_useful"])
    assert 0.3 < written["dropped_share"] < 0.7
    assert "not in the cited source" in written["drop_reasons"]
    # Declining is decided before the model is asked; the model may only decline more.
    assert written["abstention"]["recall"] >= report["abstention"]["recall"]
    # The extractive figures are the same as without a model.
    plain = json.loads(cli(*args, "--json").stdout)
    assert plain["usefulness"] == report["usefulness"]
    assert plain["abstention"] == report["abstention"]
    refused = cli(*args, "--llm")
    assert refused.exit_code == 2 and "needs a model" in refused.output


def test_a_follow_up_the_model_cannot_rewrite_is_searched_with_the_thread(kb_data, llm):
    llm.script(*[Reply(status=500)] * 3, citing("Red-Teaming Standard", "Book it ahead [{n}]."))
    service = AnswerService(kb_data, writer=_writer(llm))
    *_, final = service.stream(
        "and how far ahead?", turns=[("How do we book a red-teaming exercise?", "")]
    )
    assert isinstance(final, Final)
    assert final.answer.written is not None
    assert final.answer.written.standalone_question is None  # the rewrite failed
    prompt = llm.chat_requests()[-1]["messages"][0]["content"]
    assert "Red-Teaming Standard" in prompt  # found through the thread's earlier question
    assert not final.answer.abstained
