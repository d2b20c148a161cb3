"""`coe ask`, `coe search` and `coe chat` on the bundled knowledge base, as a user runs them."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import doc


def _ask(cli, data: Path, question: str, *extra: str) -> dict:
    return cli.json("ask", question, "--data-dir", str(data), *extra)


def test_red_teaming_owner_is_answered_with_citations(cli, kb_data):
    answer = _ask(cli, kb_data, "Who owns red-teaming?")
    assert answer["abstained"] is False
    assert "Priya Raman" in answer["answer"]
    assert "[1]" in answer["answer"]
    cited = {s["source"] for s in answer["sources"] if s["cited"]}
    assert cited & {
        "https://coe.example.com/kb/red-teaming-standard",
        "https://coe.example.com/kb/responsible-ai-lead",
    }
    for source in answer["sources"]:
        assert source["title"] and source["source"] and source["text"]
        assert source["owner"]


def test_json_output_has_the_documented_shape(cli, kb_data):
    answer = _ask(cli, kb_data, "What has to be in place before an AI feature launches?")
    assert isinstance(answer["answer"], str) and answer["answer"]
    assert isinstance(answer["abstained"], bool)
    assert isinstance(answer["sources"], list) and answer["sources"]
    for source in answer["sources"]:
        assert {"title", "source", "text"} <= source.keys()
        assert all(isinstance(source[k], str) for k in ("title", "source", "text"))
    # Every [n] in the answer points at a listed source.
    numbers = {s["number"] for s in answer["sources"]}
    assert {s["source_number"] for s in answer["sentences"]} <= numbers


def test_a_launch_question_links_the_launch_readiness_checklist(cli, kb_data):
    answer = _ask(cli, kb_data, "What has to be in place before an AI feature launches?")
    assert answer["abstained"] is False
    assert answer["checklist"] is not None
    assert answer["checklist"]["doc_id"] == "checklists/ai-feature-launch-readiness.md"
    assert answer["checklist"]["item_count"] >= 8
    text = cli("ask", "launch readiness checklist for an AI feature", "--data-dir", str(kb_data))
    assert "Checklist: AI Feature Launch Readiness Checklist" in text.stdout


def test_out_of_scope_questions_are_declined_honestly(cli, kb_data):
    for question in ("What is the capital of Australia?", "when does the office cafeteria close?"):
        answer = _ask(cli, kb_data, question)
        assert answer["abstained"] is True, question
        assert answer["sources"] == []
        assert "does not cover this" in answer["answer"]
        assert "consultation request" in answer["answer"]
    printed = cli("ask", "What is the capital of Australia?", "--data-dir", str(kb_data))
    assert "Not in the knowledge base" in printed.stdout


def test_staff_only_documents_are_hidden_from_everyone_else(cli, kb_data, bundled):
    staff_docs = {
        p.relative_to(bundled).as_posix()
        for p in bundled.rglob("*.md")
        if "audience: coe-staff" in p.read_text(encoding="utf-8")
    }
    assert len(staff_docs) >= 2
    question = "what discount tiers and renewal dates do we have with model vendors?"
    public = _ask(cli, kb_data, question)
    assert not {s["doc_id"] for s in public["sources"]} & staff_docs
    hits = cli.json("search", question, "--data-dir", str(kb_data), "-k", "50")
    assert not {h["doc_id"] for h in hits} & staff_docs
    staff = _ask(cli, kb_data, question, "--staff")
    assert "vendors/vendor-negotiation-notes.md" in {s["doc_id"] for s in staff["sources"]}


def test_sources_past_their_review_date_are_flagged(cli, kb_data):
    answer = _ask(cli, kb_data, "what sections does a model card need to have?")
    first = answer["sources"][0]
    assert first["doc_id"] == "standards/model-card-standard.md"
    assert first["stale"] is True
    printed = cli(
        "ask", "what sections does a model card need to have?", "--data-dir", str(kb_data)
    )
    assert f"review was due {first['review_by']}" in printed.stdout


def test_search_shows_ranked_passages_with_scores(cli, kb_data):
    result = cli("search", "model gateway API key", "--data-dir", str(kb_data), "-k", "5")
    assert result.exit_code == 0
    assert "playbooks/model-gateway-onboarding.md" in result.stdout
    rows = cli.json("search", "model gateway API key", "--data-dir", str(kb_data), "-k", "5")
    assert len(rows) == 5
    assert [r["rank"] for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0]["score"] >= rows[-1]["score"]


def test_chat_reads_questions_piped_on_stdin(cli, kb_data):
    result = cli(
        "chat",
        "--data-dir",
        str(kb_data),
        input="Who owns red-teaming?\n\nWhat is the capital of Australia?\n",
    )
    assert result.exit_code == 0
    assert result.stdout.count("you ›") == 2
    assert "Priya Raman" in result.stdout
    assert "Not in the knowledge base" in result.stdout


def test_empty_question_gets_a_clear_error(cli, kb_data):
    result = cli("ask", "   ", "--data-dir", str(kb_data))
    assert result.exit_code == 2
    assert "the text was empty" in result.stderr


def test_first_question_on_an_empty_data_dir_ingests_by_itself(cli, write, tmp_path):
    write("one.md", doc("Intake", "Requests to the CoE are answered within one working day."))
    env = {"COE_KNOWLEDGE_DIRS": str(write.root), "COE_DATA_DIR": str(tmp_path / "fresh")}
    result = cli("ask", "how fast does the CoE answer requests?", env=env)
    assert result.exit_code == 0, result.output
    assert "No index yet" in result.stderr
    assert "one working day" in result.stdout


def test_a_corrupt_index_gets_a_clear_message_and_can_be_rebuilt(cli, write, tmp_path):
    write("one.md", doc("Intake", "Requests to the CoE are answered within one working day."))
    data = tmp_path / "data"
    assert cli("ingest", str(write.root), "--data-dir", str(data)).exit_code == 0
    manifest = next((data / "index" / "generations").glob("g*/manifest.json"))
    manifest.write_text("{ this is not json")
    result = cli("ask", "how fast does the CoE answer requests?", "--data-dir", str(data))
    assert result.exit_code == 2
    assert "cannot be read" in result.stderr and "coe ingest --rebuild" in result.stderr
    rebuilt = cli("ingest", str(write.root), "--data-dir", str(data), "--rebuild")
    assert rebuilt.exit_code == 0, rebuilt.output
    answer = cli.json("ask", "how fast does the CoE answer requests?", "--data-dir", str(data))
    assert "one working day" in answer["answer"]


def test_a_name_the_knowledge_base_never_spells_out_counts_as_unknown(cli, kb_data):
    """Every word of "the EU AI Act" appears in the knowledge base, the name never does: a
    question about it is not answered from passages that merely share its other words."""
    law = _ask(cli, kb_data, "is our chatbot compliant with the EU AI Act?")
    assert law["evidence"]["unknown"] >= 1
    assert law["abstained"] is True
    ours = _ask(cli, kb_data, "what does the AI Launch Standard require for a chatbot?")
    assert ours["evidence"]["unknown"] == 0 and ours["abstained"] is False
