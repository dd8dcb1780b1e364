"""BM25 sparse vectors with Qdrant's own tokenizer (the `Bm25` model shipped in qdrant-edge-py).

Term weights are computed here (TF saturation, length normalisation); IDF is applied by the engine
(`Modifier.Idf`), so the statistics follow the collection as it grows.
"""

from __future__ import annotations

import qdrant_edge as qe

from embeddings.index import SparseVector


class Bm25Encoder:
    def __init__(self, language: str = "english", avg_len: float = 150.0) -> None:
        self._model = qe.Bm25(qe.Bm25Config(language=language, avg_len=avg_len))

    def document(self, text: str) -> SparseVector:
        sv = self._model.embed_document(text)
        return SparseVector(list(sv.indices), list(sv.values))

    def query(self, text: str) -> SparseVector:
        sv = self._model.embed_query(text)
        return SparseVector(list(sv.indices), list(sv.values))
