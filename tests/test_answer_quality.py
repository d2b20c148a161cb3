"""What people read: the quotes answer the question, in the shape it asks for (issue 9).

Each test writes a small knowledge base the way real ones look, ingests it through the CLI and
asks through `coe ask --json`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import doc

POISONING = """## Description

Memory poisoning happens when an attacker plants instructions in an agent's long-term memory.
The planted text is replayed in later sessions, where the agent treats it as trusted context.

## Example attack scenario

An attacker files a support ticket whose text tells the agent to forward invoices to an
outside address; weeks later the agent recalls the note and follows it.

## Prevention and mitigation

- Validate and sanitise everything before it is written to memory.
- Expire stored memories after a fixed retention period.
- Keep each user's memory in a separate store.

## References

- https://example.org/papers/memory-poisoning
- See also the agent security overview at https://example.org/agents
"""

INCIDENTS = """Our review of last year's model incidents found the same few causes again and again.

Common root causes:

- Drift
- Stale prompts
- No owner
- Missing evals

Each cause has a playbook in the operations handbook.
"""

TIERS = """The number of red-teamers depends on the risk tier of the feature.

| Tier | Red-teamers | Duration |
|------|-------------|----------|
| Low | 0 | none |
| Medium | 2 | half a day |
| High | 4 | three to five days |
"""


@pytest.fixture(scope="module")
def kb(tmp_path_factory, cli) -> Path:
    root = tmp_path_factory.mktemp("quality")
    docs = root / "docs"
    docs.mkdir()
    (docs / "memory-poisoning.md").write_text(doc("Agent memory poisoning", POISONING))
    (docs / "incident-review.md").write_text(doc("Model incident review", INCIDENTS))
    (docs / "red-teaming.md").write_text(doc("Red-teaming by tier", TIERS))
    (docs / "LLM10_UnboundedConsumption.md").write_text(
        "## Risk\n\nUnbounded consumption lets one caller exhaust the model budget for all.\n"
    )
    data = root / "data"
    result = cli("ingest", str(docs), "--data-dir", str(data))
    assert result.exit_code == 0, result.output
    return data


def _ask(cli, kb: Path, question: str, env: dict | None = None) -> dict:
    return cli.json("ask", question, "--data-dir", str(kb), env=env)


def test_a_how_question_is_answered_from_the_mitigation_section(cli, kb):
    answer = _ask(cli, kb, "how do we prevent memory poisoning in our agent?")
    assert answer["outcome"] == "answered"
    text = answer["answer"]
    assert "Validate and sanitise" in text or "Expire stored memories" in text
    assert "files a support ticket" not in text  # the attack scenario is not the answer


def test_a_list_of_short_items_is_quoted_whole(cli, kb):
    answer = _ask(cli, kb, "what are the common root causes of model incidents?")
    quoted = [s["text"] for s in answer["sentences"] if s["kind"] == "item"]
    assert quoted == ["Drift", "Stale prompts", "No owner", "Missing evals"]


def test_a_table_answer_keeps_its_column_names(cli, kb):
    answer = _ask(cli, kb, "how many red-teamers does a medium tier feature need?")
    rows = [s["text"] for s in answer["sentences"] if s["kind"] == "row"]
    assert "Tier: Medium; Red-teamers: 2; Duration: half a day" in rows


def test_a_who_owns_question_is_answered_with_the_owner_first(cli, kb_data):
    # The top passage is a list whose first item says "their own team": not an owner.
    answer = _ask(cli, kb_data, "Who owns red-teaming?")
    assert "owned and run by Priya Raman" in answer["sentences"][0]["text"]


def test_reference_lines_and_links_are_never_quoted(cli, kb):
    answer = _ask(cli, kb, "is there a paper or overview about memory poisoning of agents?")
    assert "https://" not in answer["answer"] and "See also" not in answer["answer"]


def test_a_file_without_a_title_gets_a_readable_one(cli, kb):
    answer = _ask(cli, kb, "can one caller exhaust the model budget with unbounded consumption?")
    titles = {s["title"] for s in answer["sources"]}
    assert "LLM10 Unbounded Consumption" in titles


def test_chat_json_prints_one_object_per_question_with_its_outcome(cli, kb):
    result = cli(
        "chat",
        "--json",
        "--data-dir",
        str(kb),
        input="how do we prevent memory poisoning in our agent?\nwho won the cup final in 1966?\n",
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [line["outcome"] for line in lines] == ["answered", "declined"]
    assert lines[0]["sources"] and lines[0]["question"].startswith("how do we prevent")


def test_sources_without_a_url_link_to_the_configured_base(cli, kb):
    answer = _ask(
        cli,
        kb,
        "how do we prevent memory poisoning in our agent?",
        env={"COE_SOURCE_BASE_URL": "https://git.example.com/kb/blob/main/"},
    )
    assert answer["sources"][0]["url"] == "https://git.example.com/kb/blob/main/memory-poisoning.md"


def test_a_partial_answer_says_it_may_not_answer_and_quotes_one_passage(cli, kb, tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(kb, data)
    # A team's own calibration (what `coe eval --calibrate` writes) with a wide middle ground.
    (data / "calibration.json").write_text(
        json.dumps(
            {
                "weights": {"coverage": 0.0, "agreement": 0.0, "concentration": 0.0},
                "threshold": 5.0,
                "partial_margin": 5.0,
                "fitted_on": "test",
            }
        )
    )
    answer = _ask(cli, data, "how do we prevent memory poisoning in our agent?")
    assert answer["outcome"] == "partial" and not answer["abstained"]
    assert len([s for s in answer["sentences"] if s["kind"] == "sentence"]) <= 1
    shown = cli("ask", "how do we prevent memory poisoning in our agent?", "--data-dir", str(data))
    assert "may not answer your question" in shown.stdout


TEAMS = ["billing", "search", "payments", "mobile", "identity", "growth", "support", "data"]
THINGS = ["dashboards", "alerts", "backups", "runbooks", "budgets", "roadmaps", "audits"]


@pytest.fixture(scope="module")
def faq_kb(tmp_path_factory, cli) -> tuple[Path, Path]:
    """A knowledge base of many short, alike FAQ entries: its language runs far closer to any
    question than the bundled documents do, so the shipped threshold would answer too much."""
    root = tmp_path_factory.mktemp("faq")
    docs = root / "docs"
    docs.mkdir()
    for n, (team, thing) in enumerate((t, x) for t in TEAMS for x in THINGS):
        (docs / f"faq-{n:02d}.md").write_text(
            doc(
                f"{team.title()} {thing}",
                f"The {team} team keeps its {thing} in the shared {team} workspace folder. "
                f"Ask the {team} team lead before you change the {team} {thing} settings.",
            )
        )
    data = root / "data"
    result = cli("ingest", str(docs), "--data-dir", str(data))
    assert result.exit_code == 0, result.output
    plain = root / "plain"
    result = cli("ingest", str(docs), "--data-dir", str(plain), env={"COE_AUTO_CALIBRATE": "false"})
    assert result.exit_code == 0, result.output
    return data, plain


def _generation_calibration(data: Path) -> Path:
    return (
        data
        / "index"
        / "generations"
        / (data / "index" / "CURRENT").read_text().strip()
        / ("calibration.json")
    )


def test_ingest_fits_the_decision_to_the_knowledge_base(cli, faq_kb):
    from bot.answering.decision import load_calibration
    from bot.evaluation.autocalibrate import MAX_SHIFT

    data, plain = faq_kb
    shipped = load_calibration()
    fitted = json.loads(_generation_calibration(data).read_text())
    assert "probes from its own sentences" in fitted["fitted_on"]
    shift = max(-MAX_SHIFT, min(MAX_SHIFT, fitted["probe_median"] - shipped.probe_median))
    assert fitted["threshold"] == pytest.approx(shipped.threshold + shift, abs=1e-3)
    assert fitted["threshold"] > shipped.threshold  # alike entries: a stricter rule
    assert not _generation_calibration(plain).exists()

    # Answers follow this knowledge base's rule, not the shipped one.
    questions = [
        f"where does the {t} team keep {x}?" for t, x in zip(TEAMS, THINGS * 2, strict=False)
    ] + [
        "who approves a new payments vendor contract?",
        "how do I rotate the mobile signing keys?",
        "what is the growth team's budget for next year?",
    ]
    for question in questions:
        answer = _ask(cli, data, question)
        confidence = answer["evidence"]["confidence"]
        assert (answer["outcome"] != "declined") == (confidence >= fitted["threshold"]), question

    # There is no platform team: only the fitted rule sees that the resemblance is shallow.
    question = "who is the platform team lead?"
    assert _ask(cli, data, question)["outcome"] == "declined"
    assert _ask(cli, plain, question)["outcome"] == "answered"


def test_an_index_built_without_calibration_gets_it_on_the_next_ingest(cli, faq_kb, tmp_path):
    import shutil

    _data, plain = faq_kb
    copy = tmp_path / "plain"
    shutil.copytree(plain, copy)
    docs = plain.parent / "docs"
    result = cli("ingest", str(docs), "--data-dir", str(copy))
    assert result.exit_code == 0 and "0 added, 0 updated" in " ".join(result.output.split())
    assert "probes from its own sentences" in _generation_calibration(copy).read_text()


def test_a_small_knowledge_base_keeps_the_shipped_rule(cli, kb):
    assert not _generation_calibration(kb).exists()


def _generation(data: Path) -> Path:
    return data / "index" / "generations" / (data / "index" / "CURRENT").read_text().strip()


def test_ingest_embeds_each_quotable_piece_once_and_reuses_it_for_unchanged_files(tmp_path):
    """The meaning of every quotable piece is stored at ingest; an ingest after one file
    changed embeds that file's pieces only."""
    import numpy as np

    from bot.answering.quotes import meaning_texts, write_quote_vectors
    from ingest.embedding import shared_embedder
    from ingest.index_store import current_generation, read_chunks
    from ingest.pipeline import run_ingest

    docs, data = tmp_path / "docs", tmp_path / "data"
    docs.mkdir()
    (docs / "memory-poisoning.md").write_text(doc("Agent memory poisoning", POISONING))
    (docs / "incident-review.md").write_text(doc("Model incident review", INCIDENTS))
    embedded: list[str] = []

    def embed(texts: list[str]) -> np.ndarray:
        embedded.extend(texts)
        return shared_embedder().embed(texts)

    def finish(data_dir: Path, name: str) -> None:
        write_quote_vectors(data_dir, name, embed, previous=current_generation(data_dir))

    run_ingest([docs], data, 10_000_000, before_publish=finish)
    chunks = read_chunks(data, current_generation(data))
    pieces = [t for c in chunks for t in meaning_texts(c)]
    assert sorted(embedded) == sorted(pieces) and any("Drift" in t for t in pieces)
    stored = np.load(_generation(data) / "quotes.npy")
    assert stored.shape == (len(pieces), 384)

    embedded.clear()
    (docs / "incident-review.md").write_text(
        doc("Model incident review", INCIDENTS.replace("Drift", "Silent data drift"))
    )
    run_ingest([docs], data, 10_000_000, before_publish=finish)
    assert embedded and all("poison" not in t.lower() for t in embedded)
    assert any("Silent data drift" in t for t in embedded)


def test_answers_do_not_depend_on_whether_ingest_stored_the_quote_vectors(cli, kb, tmp_path):
    """An index from before quote vectors existed answers the same, embedding as it goes."""
    import shutil

    older = tmp_path / "older"
    shutil.copytree(kb, older)
    for name in ("quotes.json", "quotes.npy", "quote_offsets.npy"):
        (_generation(older) / name).unlink()
    damaged = tmp_path / "damaged"  # a disk error or a half-copied backup
    shutil.copytree(kb, damaged)
    (_generation(damaged) / "quotes.npy").write_bytes(b"\x93NUMPY garbage")
    for question in (
        "how do we prevent memory poisoning in our agent?",
        "what are the common root causes of model incidents?",
        "how many red-teamers does a high tier feature need?",
    ):
        stored, embedded = _ask(cli, kb, question), _ask(cli, older, question)
        assert stored["answer"] == embedded["answer"]
        assert stored["evidence"]["quote"] > 0.3
        assert abs(stored["evidence"]["quote"] - embedded["evidence"]["quote"]) < 0.01
        assert _ask(cli, damaged, question)["answer"] == stored["answer"]


def test_a_no_op_ingest_adds_quote_vectors_an_index_lacks_or_cannot_read(cli, kb, tmp_path):
    """After an upgrade (or a failed step) the next ingest stores them, though no file changed."""
    import shutil

    from bot.answering.quotes import QUOTES_VERSION

    for damage in ("missing", "older version"):
        data = tmp_path / damage.replace(" ", "-")
        shutil.copytree(kb, data)
        meta = _generation(data) / "quotes.json"
        if damage == "missing":
            meta.unlink()
        else:
            meta.write_text(
                meta.read_text().replace(f'"version": {QUOTES_VERSION}', '"version": 0')
            )
        result = cli("ingest", str(kb.parent / "docs"), "--data-dir", str(data))
        assert result.exit_code == 0 and "0 added, 0 updated" in " ".join(result.output.split())
        assert json.loads(meta.read_text())["version"] == QUOTES_VERSION, damage
        assert "[ingest] quote vectors:" in result.stderr and "embedded now" in result.stderr
