"""The two embedding backends: ONNX Runtime (the default, no torch) and sentence-transformers."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from ingest.embedding import Embedder
from ingest.index_store import current_generation, read_chunks
from ingest.onnx_embedding import OnnxEmbedder, OnnxModelMissingError
from tests.conftest import REPO

# Runs the real CLI in a fresh interpreter and reports which heavy modules it imported.
PROBE = """
import json, sys
from bot.cli.main import app
try:
    app(sys.argv[1:], standalone_mode=False)
finally:
    loaded = {m: m in sys.modules for m in ("torch", "sentence_transformers", "onnxruntime")}
    print(json.dumps(loaded), file=sys.stderr)
"""


def _ask(kb_data, backend: str | None, question: str) -> tuple[dict, dict]:
    env = {k: v for k, v in os.environ.items() if k != "COE_EMBEDDING_BACKEND"}
    if backend is not None:
        env["COE_EMBEDDING_BACKEND"] = backend
    done = subprocess.run(
        [sys.executable, "-c", PROBE, "ask", "--data-dir", str(kb_data), "--json", question],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stderr.strip().splitlines()[-1])
    return json.loads(done.stdout), loaded


def test_both_backends_give_the_same_vectors_on_the_bundled_knowledge_base(kb_data):
    texts = [c.embed_text for c in read_chunks(kb_data, current_generation(kb_data) or "")]
    assert len(texts) > 100
    onnx = OnnxEmbedder().embed(texts)
    torch = Embedder().embed(texts)
    cosine = np.sum(onnx * torch, axis=1)
    assert float(cosine.min()) >= 0.99
    assert np.allclose(np.linalg.norm(onnx, axis=1), 1.0, atol=1e-5)


def test_ask_on_the_default_onnx_path_never_imports_torch(kb_data):
    answer, loaded = _ask(kb_data, None, "Who signs off a high-risk launch?")
    assert answer["outcome"] in {"answered", "partial"} and answer["sources"]
    assert loaded == {"torch": False, "sentence_transformers": False, "onnxruntime": True}


def test_the_backend_setting_is_honoured(kb_data):
    on_torch, loaded = _ask(kb_data, "torch", "Who signs off a high-risk launch?")
    assert loaded["sentence_transformers"] and not loaded["onnxruntime"]
    on_onnx, _ = _ask(kb_data, "onnx", "Who signs off a high-risk launch?")
    # The same passages, whichever backend embedded the question.
    assert [s["title"] for s in on_torch["sources"]] == [s["title"] for s in on_onnx["sources"]]


def test_a_missing_onnx_model_says_how_to_make_it(tmp_path):
    with pytest.raises(OnnxModelMissingError, match=r"python -m ingest\.onnx_embedding"):
        OnnxEmbedder(tmp_path / "absent.onnx")
