"""BM25 sparse vectors with Qdrant's own tokenizer (the `Bm25` model shipped in qdrant-edge-py).

Term weights are computed here (TF saturation, length normalisation); IDF is applied by the engine
(`Modifier.Idf`), so the statistics follow the collection as it grows. Several analysers (English and
Spanish for a bilingual deployment) are combined: each token keeps its highest weight, so a word stemmed the
same way by both counts once.
"""

from __future__ import annotations

from collections.abc import Sequence

import qdrant_edge as qe

from embeddings.index import SparseVector


class Bm25Encoder:
    def __init__(self, languages: str | Sequence[str] = ("english",), avg_len: float = 150.0) -> None:
        names = (languages,) if isinstance(languages, str) else tuple(languages)
        self.languages = names
        self._models = [qe.Bm25(qe.Bm25Config(language=name, avg_len=avg_len)) for name in names]

    def document(self, text: str) -> SparseVector:
        return _merge([m.embed_document(text) for m in self._models])

    def query(self, text: str) -> SparseVector:
        return _merge([m.embed_query(text) for m in self._models])


def _merge(vectors: list[qe.SparseVector]) -> SparseVector:
    if len(vectors) == 1:
        return SparseVector(list(vectors[0].indices), list(vectors[0].values))
    best: dict[int, float] = {}
    for sv in vectors:
        for i, v in zip(sv.indices, sv.values, strict=True):
            if v > best.get(i, float("-inf")):
                best[i] = v
    keys = sorted(best)
    return SparseVector(keys, [best[k] for k in keys])
