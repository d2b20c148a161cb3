"""all-MiniLM-L6-v2 on ONNX Runtime: the same weights as the sentence-transformers path, with
no torch at query time (importing torch and sentence-transformers takes seconds).

The ONNX file is exported once from the packaged model (`python -m ingest.onnx_embedding`,
which `make install` runs; torch is needed for that step only) into a cache folder keyed by
the model's files, and checked against the torch vectors before it is kept.

Embedding mirrors sentence-transformers' pipeline for this model: WordPiece with special
tokens, truncation to 256 pieces, the transformer, mean pooling over real tokens, L2 norm.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import warnings
from functools import cache
from pathlib import Path

import numpy as np

from ingest.embedding import MODEL_NAME, MODEL_WINDOW, model_dir

# Texts are sorted by length and batched by padded size: on 2 cores ~8 long passages or
# ~64 short questions a batch embed fastest (measured: RESULTS.md, issue 12).
BATCH_TOKENS = 2048
BATCH_MAX_ROWS = 64
EXPORT_CHECK_MIN_COSINE = 0.9999
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class OnnxModelMissingError(RuntimeError):
    """The exported model is not there (and could not be made here)."""


def cache_dir() -> Path:
    configured = os.environ.get("COE_MODEL_CACHE")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "coe-assistant"


@cache
def _fingerprint() -> str:
    """Changes with the packaged model, so an upgraded model is exported again."""
    digest = hashlib.sha256()
    folder = model_dir()
    for name in ("config.json", "tokenizer.json", "model.safetensors"):
        path = folder / name
        stat = path.stat()
        digest.update(f"{name}:{stat.st_size}".encode())
        with open(path, "rb") as handle:
            digest.update(handle.read(1 << 16))
    return digest.hexdigest()[:16]


def onnx_path() -> Path:
    return cache_dir() / f"{MODEL_NAME}-{_fingerprint()}.onnx"


def export(target: Path | None = None) -> Path:
    """Exports the packaged model to ONNX (needs torch, ~20 s) and checks it; returns its path."""
    import torch
    from transformers import AutoModel

    target = target or onnx_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    model = AutoModel.from_pretrained(str(model_dir())).eval()

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    sample = torch.ones((2, 8), dtype=torch.long)
    axes = {0: "batch", 1: "tokens"}
    pending = target.with_name(target.name + f".{os.getpid()}.tmp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's notes on ops it maps; checked below
        torch.onnx.export(
            LastHiddenState(),
            (sample, sample, torch.zeros_like(sample)),
            str(pending),
            input_names=list(INPUTS),
            output_names=["last_hidden_state"],
            dynamic_axes=dict.fromkeys((*INPUTS, "last_hidden_state"), axes),
            opset_version=17,
            dynamo=False,
        )
    _check_against_torch(pending)
    os.replace(pending, target)
    for stale in target.parent.glob(f"{MODEL_NAME}-*.onnx"):
        if stale != target:  # an earlier export or model version: never read again
            stale.unlink(missing_ok=True)
    return target


def _check_against_torch(path: Path) -> None:
    from ingest.embedding import Embedder

    texts = [
        "Who signs off a high-risk AI launch?",
        "Every AI feature needs a model card before launch; the Responsible AI Lead signs it.",
        "x",
    ]
    reference = Embedder().embed(texts)
    exported = OnnxEmbedder(path).embed(texts)
    cosine = float(np.min(np.sum(reference * exported, axis=1)))
    if cosine < EXPORT_CHECK_MIN_COSINE:
        path.unlink(missing_ok=True)
        raise OnnxModelMissingError(
            f"the exported model disagrees with the original (cosine {cosine:.5f}); not kept"
        )


@cache
def _tokenizer():
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
    tokenizer.enable_truncation(MODEL_WINDOW)
    tokenizer.no_padding()
    return tokenizer


class OnnxEmbedder:
    """Normalised sentence embeddings from ONNX Runtime; one instance per process.

    A question runs on one session that spreads each product over the cores. Many texts
    (an ingest) run on one single-threaded session per core, each embedding its own batches:
    with a model this small, two batches side by side beat one batch on two threads by ~1/3
    (measured: RESULTS.md, issue 12). Those sessions are made on the first large call only,
    so a server that only embeds questions never holds them.
    """

    def __init__(
        self, path: Path | None = None, threads: int | None = None, workers: int | None = None
    ) -> None:
        path = path or onnx_path()
        if not path.exists():
            raise OnnxModelMissingError(
                f"no ONNX model at {path}; run `python -m ingest.onnx_embedding` (needs torch)"
            )
        self.path = path
        self.dimension = 384
        # Past 4 threads a single short question gains nothing.
        self._threads = threads or min(4, _cores())
        self._workers = workers or _cores()
        self._session = _session(path, self._threads)
        self._names = {i.name for i in self._session.get_inputs()}
        self._lock = threading.Lock()
        self._bulk: list = []
        self._bulk_lock = threading.Lock()

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        encodings = _tokenizer().encode_batch(list(texts))
        lengths = [len(e.ids) for e in encodings]
        order = sorted(range(len(texts)), key=lambda i: lengths[i])
        batches = _batches(order, lengths)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if len(batches) < 2 or self._workers < 2:
            for rows in batches:
                with self._lock:
                    out[rows] = self._run(self._session, encodings, rows)
            return out
        sessions = self._bulk_sessions()
        # Longest batches first, so no worker is left with a long one at the end.
        pending = iter(list(reversed(batches)))
        taken = threading.Lock()
        failures: list[BaseException] = []

        def work(session) -> None:
            while not failures:
                with taken:
                    rows = next(pending, None)
                if rows is None:
                    return
                try:
                    out[rows] = self._run(session, encodings, rows)
                except BaseException as error:  # surfaced to the caller below
                    failures.append(error)

        with self._bulk_lock:  # two bulk calls at once would only fight over the cores
            threads = [threading.Thread(target=work, args=(s,), daemon=True) for s in sessions]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        if failures:
            raise failures[0]
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]

    def _bulk_sessions(self) -> list:
        with self._bulk_lock:
            while len(self._bulk) < self._workers:
                self._bulk.append(_session(self.path, 1))
            return list(self._bulk)

    def _run(self, session, encodings, rows: list[int]) -> np.ndarray:
        width = max(len(encodings[i].ids) for i in rows)
        ids = np.zeros((len(rows), width), dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for r, i in enumerate(rows):
            n = len(encodings[i].ids)
            ids[r, :n] = encodings[i].ids
            mask[r, :n] = 1
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        (hidden,) = session.run(None, {k: v for k, v in feeds.items() if k in self._names})
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.clip(norms, 1e-12, None)


def _cores() -> int:
    """Cores this process may use (a container's CPU set, not the host's)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _session(path: Path, threads: int):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _batches(order: list[int], lengths: list[int]) -> list[list[int]]:
    """Consecutive runs of `order` (shortest first) whose padded size stays in budget."""
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        # Sorted ascending, so this text sets the padded width of the batch it joins.
        if current and (
            (len(current) + 1) * lengths[i] > BATCH_TOKENS or len(current) >= BATCH_MAX_ROWS
        ):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def main() -> None:
    path = onnx_path()
    if path.exists():
        print(json.dumps({"onnx_model": str(path), "built": False}))
        return
    print(json.dumps({"onnx_model": str(export()), "built": True}))


if __name__ == "__main__":
    main()
