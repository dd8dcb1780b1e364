"""The English model runs as the shared BERT encoder compiled by TorchScript (embeddings/bert.py), giving
sentence-transformers' own vectors; a model that is not a mean-pooled BERT keeps sentence-transformers' path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from app.tracardi.export import ExportDirectory
from embeddings import encoder as encoders
from embeddings.documents import DocumentBuilder
from embeddings.encoder import SentenceEncoder, _compiled_bert
from profiles.dictionary import EventDictionary


@pytest.fixture(scope="module")
def eager() -> Iterator[SentenceEncoder]:
    """The default model through sentence-transformers' own `encode` (bf16 autocast): the path every model
    without a compiled BERT takes, and the reference here."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(encoders, "_compiled_bert", lambda *args: None)
        yield SentenceEncoder()


def test_the_default_model_runs_compiled_and_gives_sentence_transformers_vectors(
        encoder: Any, eager: SentenceEncoder, movielens_export: Path) -> None:
    assert isinstance(encoder._bert, torch.jit.ScriptModule)
    assert eager._bert is None and encoder.model_id == eager.model_id  # one vector space
    profiles = [p for p, _ in zip(ExportDirectory(movielens_export).iter_profiles_with_events(), range(40),
                                  strict=False)]
    docs = [DocumentBuilder(EventDictionary.load(None, "en")).build(p).text for p in profiles]
    # past the 256-token window (truncated alike), empty, padded and non-Latin text
    texts = docs + [" ".join(docs[:3]), "", "  padded  ", "Ñandú 東京 🤖 café"]
    mine = np.vstack([encoder.encode(texts), encoder.encode_query(texts[0])[None, :]])
    reference = np.vstack([eager.encode(texts), eager.encode_query(texts[0])[None, :]])
    cosine = np.sum(mine * reference, axis=1)
    assert cosine.min() >= 0.9995, cosine.min()  # bf16 weights against bf16 autocast
    assert np.allclose(np.linalg.norm(mine, axis=1), 1.0, atol=1e-5)
    # sentence-transformers' copy of the weights is released once compiled: it only tokenizes
    assert all(p.is_meta for p in encoder.model[0].auto_model.parameters())


def test_a_model_pooled_otherwise_keeps_sentence_transformers_path(eager: SentenceEncoder) -> None:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Pooling

    transformer: Any = eager.model[0]
    cls = SentenceTransformer(modules=[transformer, Pooling(transformer.get_embedding_dimension(), "cls")])
    assert _compiled_bert(cls, torch.float32, "cpu") is None
    mean = SentenceTransformer(modules=[transformer, Pooling(transformer.get_embedding_dimension(), "mean")])
    assert _compiled_bert(mean, torch.float32, "cpu") is not None


def test_where_torchscript_fails_the_model_runs_eagerly_with_the_same_vectors(
        encoder: Any, eager: SentenceEncoder, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("scripting unavailable")

    monkeypatch.setattr(torch.jit, "script", refuse)
    model = _compiled_bert(eager.model, encoder._autocast_dtype or torch.float32, "cpu")
    assert model is not None and not isinstance(model, torch.jit.ScriptModule)
    features = encoder.model[0].preprocess(["customers who love science fiction", "x"])
    with torch.inference_mode():
        mine = model(features["input_ids"], features["attention_mask"])
        compiled = encoder._bert(features["input_ids"], features["attention_mask"])
    assert torch.allclose(mine, compiled, atol=1e-3)
