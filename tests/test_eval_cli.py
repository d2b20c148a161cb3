"""`coe eval` on the bundled knowledge base meets the thresholds kept in the repo."""

from __future__ import annotations

import json

import yaml

from bot.evaluation.golden import load_golden


def test_golden_set_is_big_enough_and_points_at_real_documents(bundled):
    golden = load_golden()
    in_scope = [q for q in golden.questions if not q.out_of_scope]
    assert len(in_scope) >= 50
    assert sum(q.out_of_scope for q in golden.questions) >= 10
    for question in in_scope:
        for doc in question.expected:
            assert (bundled / doc).is_file(), doc


def test_bundled_documents_have_owner_review_date_and_type(bundled):
    documents = [p for p in bundled.rglob("*.md")]
    assert len(documents) >= 30
    for path in documents:
        header = yaml.safe_load(path.read_text(encoding="utf-8").split("---")[1])
        assert header["owner"] and header["review_by"] and header["type"], path


def test_eval_meets_the_thresholds_and_beats_nothing_silently(cli, kb_data, bundled):
    result = cli("eval", "--data-dir", str(kb_data), "--json")
    report = json.loads(result.stdout)
    assert result.exit_code == 0, report["failures"]
    thresholds = yaml.safe_load((bundled / "eval" / "thresholds.yaml").read_text())
    assert report["hybrid"]["hit_at_3"] >= thresholds["hit_at_3"]
    assert report["hybrid"]["mrr"] >= thresholds["mrr"]
    assert report["abstention"]["recall"] >= thresholds["abstention_recall"]
    assert report["baseline"] is not None
    assert set(report["baseline"]) == {"hit_at_1", "hit_at_3", "mrr", "ndcg_at_10"}


def test_eval_fails_when_a_threshold_is_not_met(cli, kb_data, tmp_path, bundled):
    (tmp_path / "golden.yaml").write_text((bundled / "eval" / "golden.yaml").read_text())
    (tmp_path / "thresholds.yaml").write_text("hit_at_3: 1.01\n")
    result = cli("eval", "--data-dir", str(kb_data), "--golden", str(tmp_path), "--no-baseline")
    assert result.exit_code == 1
    assert "FAIL: hit@3" in result.stdout
