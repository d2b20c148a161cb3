"""Verification of written sentences, and cutting a streamed reply into sentences."""

from __future__ import annotations

from bot.answering.grounded import clean_rewrite, is_not_in_sources, may_become_marker
from bot.answering.llm import CircuitBreaker
from bot.answering.verify import check_claim, parse_claim, split_ready, unsupported_specifics
from ingest.lexical import terms

PASSAGE = (
    "AI Launch Standard — Step 3: Sign-off\n"
    "High-risk launches need a written sign-off from the CoE safety lead, Priya Raman, "
    "at least 10 working days before launch. Medium-risk launches are self-certified."
)


def _check(sentence: str, passages: int = 1, meaning: float = 0.8):
    claim = parse_claim(sentence, passages)
    return check_claim(
        claim, [PASSAGE], set(terms(claim.text)), set(terms(PASSAGE)), lambda: meaning
    )


def test_sentences_are_released_only_when_complete_with_their_citations():
    ready, rest = split_ready("High-risk launches need a sign-off [1]. Medium-ri")
    assert ready == ["High-risk launches need a sign-off [1]."]
    assert rest == "Medium-ri"
    # A citation that follows the full stop stays with its sentence, even mid-arrival.
    ready, rest = split_ready("They need a sign-off. [")
    assert ready == [] and rest == "They need a sign-off. ["
    ready, rest = split_ready("They need a sign-off. [1][2] Then")
    assert ready == ["They need a sign-off. [1][2]"] and rest == "Then"
    # "e.g." and list numbers are not sentence ends; line breaks end list items.
    ready, _ = split_ready("Use a tool, e.g. the red-team kit [1]. Next one")
    assert ready == ["Use a tool, e.g. the red-team kit [1]."]
    ready, rest = split_ready("1. Book the slot [1]\n2. Send the brief [2]", final=True)
    assert ready == ["1. Book the slot [1]", "2. Send the brief [2]"] and rest == ""


def test_a_claim_keeps_only_citations_that_exist():
    claim = parse_claim("- **Sign-off** comes first [2][9], then launch [1, 4].", 4)
    assert claim.cited == (2, 1, 4)
    assert claim.missing == (9,)
    assert claim.item
    assert claim.text == "Sign-off comes first, then launch."


def test_a_faithful_paraphrase_is_kept():
    assert _check("High-risk launches need a written sign-off from Priya Raman [1].").kept
    assert _check("Medium-risk launches are self-certified [1].").kept


def test_invented_numbers_names_and_quoted_terms_are_dropped():
    number = _check("High-risk launches need a sign-off 30 working days before launch [1].")
    assert not number.kept and "30" in number.reason
    name = _check("High-risk launches need a written sign-off from John Smith [1].")
    assert not name.kept and "John" in name.reason
    quoted = _check('High-risk launches need a "board waiver" before launch [1].')
    assert not quoted.kept and "board waiver" in quoted.reason
    assert unsupported_specifics("Priya Raman signs 10 days ahead.", [PASSAGE]) == []


def test_citations_that_do_not_exist_or_are_missing_drop_the_sentence():
    assert "[9]" in _check("High-risk launches need a sign-off [9].", passages=4).reason
    assert _check("High-risk launches need a sign-off.").reason == "cites no source"


def test_a_sentence_off_the_cited_passage_is_dropped():
    unrelated = _check("Vendors must encrypt all customer data at rest [1].", meaning=0.2)
    assert not unrelated.kept and "too few words" in unrelated.reason
    # Shares words but not meaning.
    drift = _check("Launches before the sign-off need medium risk teams [1].", meaning=0.1)
    assert not drift.kept and "not supported" in drift.reason


def test_the_not_in_sources_marker_is_recognised_while_it_streams():
    assert is_not_in_sources("NOT_IN_SOURCES") and is_not_in_sources(" `NOT_IN_SOURCES`.\n")
    assert not is_not_in_sources("NOT_IN_SOURCES but the charter says [1].")
    assert may_become_marker("NOT_IN") and may_become_marker("")
    assert not may_become_marker("High-risk")


def test_a_rewritten_follow_up_is_used_only_when_it_is_a_question():
    assert clean_rewrite('"How far ahead must red-teaming be booked?"', "how far?") == (
        "How far ahead must red-teaming be booked?"
    )
    assert clean_rewrite("", "how far?") == "how far?"
    assert clean_rewrite("x " * 2000, "how far?") == "how far?"


def test_the_circuit_breaker_opens_after_failures_and_closes_after_a_good_trial():
    now = [0.0]
    breaker = CircuitBreaker(failures=3, cooldown_s=30, clock=lambda: now[0])
    for _ in range(3):
        assert breaker.allow()
        breaker.failure()
    assert breaker.state == "open" and not breaker.allow()
    now[0] = 31
    assert breaker.allow()  # one trial…
    assert not breaker.allow()  # …at a time
    breaker.failure()
    assert breaker.state == "open"
    now[0] = 62
    assert breaker.allow()
    breaker.success()
    assert breaker.state == "closed" and breaker.allow()


def test_names_match_whole_words_and_possessives_are_the_name():
    source = ["The CoE safety lead, Priya Raman, gives the written sign-off."]
    assert unsupported_specifics("Priya Raman's written sign-off comes first.", source) == []
    assert unsupported_specifics("The CoE’s safety lead signs.", source) == []
    assert unsupported_specifics("The IT lead signs.", source) == ["IT"]
    assert unsupported_specifics("Ask Lea Raman.", source) == ["Lea"]


def test_a_negation_the_source_does_not_make_is_dropped():
    turned = _check("High-risk launches do not need a written sign-off [1].")
    assert not turned.kept and "negates" in turned.reason
    assert _check("Medium-risk launches need no CoE sign-off [1].").reason.startswith("negates")


def test_awkward_line_breaks_keep_citations_and_list_numbers_with_their_sentence():
    ready, _ = split_ready("The slot is booked ahead.\n[1]\nThen send the brief [2].", final=True)
    assert ready == ["The slot is booked ahead.\n[1]", "Then send the brief [2]."]
    ready, _ = split_ready("Steps: 1. Book the slot [1]. 2. Send it [1].", final=True)
    assert ready == ["Steps: 1. Book the slot [1].", "2. Send it [1]."]
