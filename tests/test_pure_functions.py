"""Pure pieces: chunking, checklist parsing, sentence extraction, metrics and calibration."""

from __future__ import annotations

from bot.answering.compose import units
from bot.answering.decision import confidence
from bot.evaluation.calibrate import fit
from bot.evaluation.metrics import abstention_metrics, ndcg, ranking_metrics
from ingest.checklists import parse_checklist
from ingest.chunking import chunk_document, split_sections
from ingest.embedding import MODEL_WINDOW, count_tokens


def test_chunks_follow_headings_and_fit_the_model_window():
    long_section = " ".join(
        f"Sentence number {n} explains one more rule of the process." for n in range(120)
    )
    body = f"# Guide\n\nIntro text for the guide.\n\n## Setup\n\n{long_section}\n\n## Usage\n\nRun it daily."
    chunks = chunk_document("Guide", body)
    assert {c.heading for c in chunks} >= {"Setup"}
    assert len([c for c in chunks if c.heading == "Setup"]) > 3
    for chunk in chunks:
        assert count_tokens(chunk.embed_text) + 2 <= MODEL_WINDOW
        assert chunk.embed_text.startswith("Guide")


def test_headings_inside_code_fences_are_not_sections():
    sections = split_sections("## Real\n\n```\n# not a heading\n```\n", "T")
    assert [s.path for s in sections] == [("Real",)]


def test_checklist_items_are_grouped_by_heading_with_a_content_version():
    body = "# L\n\n## Before\n\n- [ ] Eval passed\n- [x] Model card\n\n## After\n\n* [ ] Monitor\n"
    checklist = parse_checklist(body, "L")
    assert [(s.title, s.items) for s in checklist.sections] == [
        ("Before", ["Eval passed", "Model card"]),
        ("After", ["Monitor"]),
    ]
    assert checklist.item_count == 3
    changed = parse_checklist(body.replace("Monitor", "Monitor weekly"), "L")
    assert changed.version != checklist.version
    assert parse_checklist("# No items\n\nJust text.", "x") is None


def test_units_strip_markup_and_drop_lead_ins():
    text = "Some **bold** claim here today. Another one follows it.\n\nWe cover:\n- [ ] Item one to do\n| a | b |\n|---|---|\n| c | d e f |"
    assert units(text) == [
        "Some bold claim here today.",
        "Another one follows it.",
        "Item one to do",
        "a: c; b: d e f",  # a table row keeps its column names
    ]


def test_quotes_keep_structure_and_leave_out_non_answers():
    from bot.answering.units import ITEM, is_non_answer, split_units

    text = (
        "Description\n"
        "Agents with memory can be poisoned by what they store between sessions.\n\n"
        "This page describes the risks of agent memory and how to prevent them.\n\n"
        "Root causes:\n- Trust\n- No expiry\n- Shared stores\n\n"
        "How do we know it happened?\n\n"
        "## References\n\n- https://example.org/paper\n\n"
        "Licensed under CC BY 4.0.\n\n"
        ">>> memory.clear(session='x')\n\n"
        "plot_metric_frame(frame, kind='point')\n\n"
        "The people who review memory changes are\n\n"
        "<div>cards the text extraction could not keep as a list</div>\n"
    )
    pieces = split_units(text)
    first = pieces[0]
    assert first.text.startswith("Agents with memory") and first.heading == "Description"
    items = [u for u in pieces if u.kind == ITEM and not is_non_answer(u)]
    assert [u.text for u in items] == ["Trust", "No expiry", "Shared stores"]
    assert {u.lead for u in items} == {"Root causes:"}
    quotable = units(text)
    assert "Trust" in quotable  # short list items are kept
    left_outs = ("This page describes", "How do we know", "https://", "Licensed", ">>>", "plot_")
    for left_out in (*left_outs, "changes are"):
        assert not any(left_out in q for q in quotable), left_out


def test_ranking_metrics():
    rankings = [["a", "b", "c"], ["x", "a", "y"], ["x", "y", "z", "w"]]
    relevant = [{"a"}, {"a"}, {"a"}]
    metrics = ranking_metrics(rankings, relevant)
    assert metrics.hit_at_1 == 1 / 3
    assert metrics.hit_at_3 == 2 / 3
    assert abs(metrics.mrr - (1 + 0.5) / 3) < 1e-9
    assert ndcg(["a", "b"], {"a", "b"}) == 1.0
    assert ndcg(["b", "a"], {"a"}) < 1.0


def test_abstention_metrics():
    m = abstention_metrics([True, True, False, False], [True, False, True, False])
    assert (m.precision, m.recall, m.in_scope_answered) == (0.5, 0.5, 0.5)


def test_calibration_declines_the_required_share_of_out_of_scope_questions():
    def f(similarity, coverage, agreement=0.0):
        return {
            "similarity": similarity,
            "coverage": coverage,
            "agreement": agreement,
            "concentration": 0.2,
        }

    features = [
        f(0.7, 0.9, 1),
        f(0.6, 0.8),
        f(0.45, 0.7, 1),
        f(0.3, 0.1),
        f(0.35, 0.2),
        f(0.5, 0.0),
    ]
    oos = [False, False, False, True, True, True]
    rule = fit(features, oos, min_recall=1.0)
    decide = [confidence(x, rule) < rule.threshold for x in features]
    assert decide == oos


def test_knowledge_gaps_group_paraphrases_biggest_first():
    from bot.enablement.gaps import group_questions
    from ingest.embedding import shared_embedder

    questions = [
        "how do I expense a team lunch?",
        "what is the weather in Lisbon?",
        "can I claim a team dinner on expenses?",
        "who won the champions league final?",
        "will it rain in Lisbon tomorrow?",
        "can I put the lunch with my team on my expense report?",
    ]
    gaps = group_questions(questions, shared_embedder().embed)
    assert [g.count for g in gaps] == [3, 2, 1]
    assert set(gaps[0].questions) == {questions[0], questions[2], questions[5]}
    assert set(gaps[1].questions) == {questions[1], questions[4]}
    assert gaps[0].example in gaps[0].questions
