"""The vocabulary's phrase vectors between processes (app/search/phrase_store.py): a new process reads questions
as the last one did without encoding the vocabulary again; the file holds no phrase; an erasure deletes it; a
build that an invalidation overtook keeps nothing."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from app.search.meaning_match import NULL_PHRASES, canonical
from app.search.phrase_store import PhraseVectorStore, RememberingEncoder, digest
from app.search.service import SearchService
from app.search.understanding import understand


class Counting:
    """The real encoder, counting the phrases it is asked to encode; `during` runs inside the first call."""

    def __init__(self, encoder: Any, during: Any = None) -> None:
        self.encoder = encoder
        self.phrase_null_z = encoder.phrase_null_z
        self.model_id = encoder.model_id
        self.encoded = 0
        self.during = during

    def encode_phrases(self, texts: Sequence[str]) -> np.ndarray:
        self.encoded += len(texts)
        if self.during is not None:
            during, self.during = self.during, None
            during()
        return np.asarray(self.encoder.encode_phrases(texts))

    def encode_query(self, text: str) -> np.ndarray:
        return np.asarray(self.encoder.encode_query(text))


def service(container: Any, encoder: Any, store: PhraseVectorStore | None) -> SearchService:
    s = container.search
    return SearchService(encoder, s.sparse, s.index, s.state, wordings=s.wordings, event_labels=s.event_labels,
                         phrases=store)


QUESTIONS = ("women over 40 who are engineers", "retired men", "students who rated more than 100 movies")


def test_a_new_process_reads_questions_without_encoding_the_vocabulary_again(movielens_container, encoder,
                                                                              tmp_path: Path) -> None:
    first = Counting(encoder)
    built = service(movielens_container, first, PhraseVectorStore(tmp_path, encoder.model_id))._vocabulary()
    assert built.lexicon is not None and first.encoded >= len(built.lexicon.texts) > 20
    again = Counting(encoder)  # a new process: nothing in memory, the same data directory
    read = service(movielens_container, again, PhraseVectorStore(tmp_path, encoder.model_id))._vocabulary()
    assert again.encoded == 0
    for q in QUESTIONS:
        assert understand(q, read).filters == understand(q, built).filters
    # a question's own phrases are encoded as before, and never stored
    size = PhraseVectorStore(tmp_path, encoder.model_id).path.stat().st_size
    understand("people who love film noir and jazz", read)
    assert again.encoded > 0
    assert PhraseVectorStore(tmp_path, encoder.model_id).path.stat().st_size == size


def test_the_file_holds_vectors_by_hash_not_the_data_s_words(movielens_container, encoder, tmp_path: Path) -> None:
    store = PhraseVectorStore(tmp_path, encoder.model_id)
    vocab = service(movielens_container, encoder, store)._vocabulary()
    assert vocab.lexicon is not None
    raw = store.path.read_bytes()
    for word in (b"engineer", b"administrator", b"student", b"female"):
        assert word not in raw
    held = store.load()
    assert all(digest(canonical(t)) in held for t in vocab.lexicon.texts)
    # this build's phrases and the null phrases, no more: the file is bounded by the vocabulary's cap
    assert set(held) == {digest(canonical(t)) for t in vocab.lexicon.texts} | {digest(t) for t in NULL_PHRASES}


def test_another_model_or_a_damaged_file_is_encoded_again(movielens_container, encoder, tmp_path: Path) -> None:
    store = PhraseVectorStore(tmp_path, encoder.model_id)
    service(movielens_container, encoder, store)._vocabulary()
    other = PhraseVectorStore(tmp_path, "another-model:384:256")
    assert other.path != store.path and other.load() == {}
    store.path.write_bytes(b"PK\x03\x04 not an archive")
    assert store.load() == {}
    counting = Counting(encoder)
    vocab = service(movielens_container, counting, store)._vocabulary()
    assert vocab.lexicon is not None and counting.encoded >= len(vocab.lexicon.texts)
    assert len(store.load()) >= len(vocab.lexicon.texts)  # stored again


def test_an_erasure_deletes_the_file_and_a_build_it_overtook_keeps_nothing(movielens_container, encoder,
                                                                          tmp_path: Path) -> None:
    store = PhraseVectorStore(tmp_path, encoder.model_id)
    s = service(movielens_container, encoder, store)
    s._vocabulary()
    assert store.path.exists()
    s.invalidate(forget_phrases=True)
    assert not store.path.exists() and s._vocab is None
    # an erasure (or a sync) while a build is embedding: the build answers the question that started it, but
    # neither the vocabulary nor its phrases outlive it
    late = service(movielens_container, None, store)  # type: ignore[arg-type]
    late.encoder = Counting(encoder, during=lambda: late.invalidate(forget_phrases=True))  # type: ignore[assignment]
    vocab = late._vocabulary()
    assert vocab.lexicon is not None and not vocab.empty
    assert late._vocab is None and not store.path.exists()
    assert late._vocabulary() is not vocab  # built again from the index as it is now


def test_remembering_encoder_encodes_each_phrase_once(encoder) -> None:
    counting = Counting(encoder)
    known = {digest("engineer"): np.asarray(encoder.encode_phrases(["engineer"]))[0]}
    r = RememberingEncoder(counting, known)
    out = r.encode_phrases(["engineer", "retired", "retired", "student"])
    assert out.shape == (4, encoder.dim) and counting.encoded == 2  # "retired" and "student", once each
    assert np.allclose(out[1], out[2]) and set(r.asked) == {digest(t) for t in ("engineer", "retired", "student")}
    r.encode_phrases(["student"])
    assert counting.encoded == 2


def test_a_read_only_directory_only_costs_the_encoding(movielens_container, encoder, tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache directory would be")
    vocab = service(movielens_container, encoder, PhraseVectorStore(blocked / "cache", encoder.model_id))._vocabulary()
    assert vocab.lexicon is not None and not vocab.empty


def test_concurrent_questions_build_one_vocabulary(movielens_container, encoder, tmp_path: Path) -> None:
    counting = Counting(encoder)
    s = service(movielens_container, counting, PhraseVectorStore(tmp_path, encoder.model_id))
    got: list[Any] = []
    workers = [threading.Thread(target=lambda: got.append(s._vocabulary())) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert len({id(v) for v in got}) == 1
