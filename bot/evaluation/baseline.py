"""What a plain llama-index VectorStoreIndex gives on the same chunks and vectors."""

from __future__ import annotations

from typing import Any

from llama_index.core import VectorStoreIndex
from llama_index.core.embeddings import BaseEmbedding
from llama_index.core.schema import TextNode
from pydantic import PrivateAttr

from ingest.embedding import TextEmbedder, shared_embedder
from ingest.index_store import STAFF_AUDIENCE, KnowledgeIndex


class BundledEmbedding(BaseEmbedding):
    """Our loaded MiniLM behind llama-index's interface, so the baseline embeds queries alike."""

    _embedder: TextEmbedder = PrivateAttr()

    def __init__(self, embedder: TextEmbedder, **kwargs: Any) -> None:
        super().__init__(model_name="all-MiniLM-L6-v2", embed_batch_size=32, **kwargs)
        self._embedder = embedder

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._embedder.embed_query(query).tolist()

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._embedder.embed_query(text).tolist()

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._embedder.embed(texts).tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)


class DenseBaseline:
    def __init__(self, index: KnowledgeIndex, embedder: TextEmbedder | None = None) -> None:
        model = BundledEmbedding(embedder or shared_embedder())
        vectors = index.vectors([c.id for c in index.chunks])
        self._indexes = {}
        for staff in (False, True):
            nodes = [
                TextNode(
                    id_=c.id,
                    text=c.embed_text,
                    embedding=vectors[c.id].tolist(),
                    metadata={"doc_id": c.doc_id},
                )
                for c in index.chunks
                if staff or c.audience != STAFF_AUDIENCE
            ]
            self._indexes[staff] = VectorStoreIndex(nodes, embed_model=model)

    def rank_documents(self, question: str, staff: bool, k: int = 10) -> list[str]:
        retriever = self._indexes[staff].as_retriever(similarity_top_k=40)
        ranking: list[str] = []
        for hit in retriever.retrieve(question):
            doc = hit.node.metadata["doc_id"]
            if doc not in ranking:
                ranking.append(doc)
        return ranking[:k]
