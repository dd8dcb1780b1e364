"""A search question waits for the forward batch running, not for a sync's whole encode call
(embeddings/forward_lock.py): bulk batches step aside while a question waits."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np

from embeddings.forward_lock import ForwardLock


def _wait_until(condition: Any) -> None:
    for _ in range(2000):
        if condition():
            return
        time.sleep(0.001)
    raise AssertionError("never happened")


def test_a_waiting_question_goes_before_the_next_batch() -> None:
    lock, log = ForwardLock(), []
    first_running, release_first = threading.Event(), threading.Event()

    def bulk() -> None:
        for i in range(3):
            with lock.batch():
                log.append(f"batch {i}")
                if i == 0:
                    first_running.set()
                    release_first.wait(5)

    def question() -> None:
        with lock.question():
            log.append("question")

    worker = threading.Thread(target=bulk)
    worker.start()
    first_running.wait(5)
    asker = threading.Thread(target=question)
    asker.start()
    _wait_until(lambda: lock._questions == 1)  # waiting behind batch 0
    release_first.set()
    worker.join(5)
    asker.join(5)
    assert log == ["batch 0", "question", "batch 1", "batch 2"]


def test_documents_encoded_a_batch_at_a_time_are_the_vectors_of_one_call(encoder: Any) -> None:
    texts = [f"customer {i} " + "watches comedies and dramas " * (i % 9) for i in range(40)]
    mine = encoder.encode(texts, batch_size=8)
    from sentence_transformers import SentenceTransformer

    from embeddings.encoder import resolve_model_path

    # sentence-transformers' own call over the whole list (the encoder keeps only its copy's tokenizer)
    whole = SentenceTransformer(resolve_model_path(None)).encode(texts, batch_size=8, normalize_embeddings=True)
    cos = (mine * whole).sum(axis=1) / np.linalg.norm(whole, axis=1)
    assert cos.min() > 0.999
    assert np.allclose(encoder.encode_query(texts[3]), mine[3], atol=2e-2)  # a question uses the same model
