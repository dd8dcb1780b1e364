"""What query understanding costs: building the vocabulary from 20,000 payloads (once per sync) and reading one
question (every search), on payloads shaped like a telecom's customers with 40 extra categorical fields.

Method: synthetic payloads (seeded) with 40 extra categorical fields of 500 values each (20,000+ vocabulary
values), `build_vocabulary` and `attach_meaning` (the English model embeds every field and value) timed once,
`understand` timed over 2,000 questions (mixed: trait questions, paraphrases, genre questions, Spanish), mean and
p99 in milliseconds; "cold" is each distinct question's first reading (its phrases encoded), "warm" the rest
(phrase vectors cached). Then the same build in a new process's place: `attach_meaning` over the phrase vectors
the first build stored (app/search/phrase_store.py), timed with loading the file.

Run: .venv/bin/python bench/understanding_cost.py
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.search.phrase_store import PhraseVectorStore, RememberingEncoder
from app.search.understanding import attach_meaning, build_vocabulary, understand
from embeddings.encoder import load_encoder

QUESTIONS = ["customers on a two-year contract", "senior citizens without internet", "young students who like comedies",
             "female customers with streaming TV and tenure under 12", "people who love documentaries",
             "jóvenes con permanencia y fibra", "big spenders who churned", "customers who pay by electronic check",
             "customers with us for more than five years", "elderly customers who don't stream TV",
             "customers who pay by auto-pay from their bank", "women paying over 90 a month"]


def main() -> None:
    rnd = random.Random(7)
    payloads = []
    for _ in range(20_000):
        traits = {"Contract": rnd.choice(["Month-to-month", "One year", "Two year"]),
                  "SeniorCitizen": rnd.choice([0, 1]), "InternetService": rnd.choice(["DSL", "Fiber optic", "No"]),
                  "StreamingTV": rnd.choice(["Yes", "No", "No internet service"]), "tenure": rnd.randint(0, 72),
                  "PaymentMethod": rnd.choice(["Electronic check", "Mailed check", "Bank transfer", "Credit card"])}
        traits.update({f"field_{j}": f"value {j}-{rnd.randint(0, 499)}" for j in range(40)})
        payloads.append({"traits": traits, "data": {"pii": {"gender": rnd.choice(["Female", "Male"])}}})
    t = time.perf_counter()
    vocab = build_vocabulary(payloads)
    built = time.perf_counter() - t
    from app.search import understanding

    understanding.MAX_DISTINCT = 500  # let the 40 wide fields count as categorical: 20,000 values to match against
    vocab = build_vocabulary(payloads)
    encoder = load_encoder(None)
    store = PhraseVectorStore(Path(tempfile.mkdtemp(prefix="phrase-vectors-")), encoder.model_id)
    t = time.perf_counter()
    remembering = RememberingEncoder(encoder, store.load())
    attach_meaning(vocab, remembering)
    embedded = time.perf_counter() - t
    store.save(remembering.asked)
    again = build_vocabulary(payloads)
    t = time.perf_counter()
    reread = RememberingEncoder(encoder, store.load())
    attach_meaning(again, reread)
    stored = time.perf_counter() - t
    assert vocab.lexicon is not None and again.lexicon is not None and not reread.asked.keys() - remembering.asked.keys()
    store.forget()
    vocab.lexicon.encoder = encoder
    cold, times = [], []
    for i in range(2000):
        q = QUESTIONS[i % len(QUESTIONS)]
        t = time.perf_counter()
        understand(q, vocab)
        (cold if i < len(QUESTIONS) else times).append((time.perf_counter() - t) * 1000)
    times.sort()
    print(f"fields and values embedded: {len(vocab.lexicon.texts):,} entries in {embedded:.1f} s (once per sync); "
          f"in a new process, from the stored vectors ({store.path.name}): {stored:.2f} s")
    print(f"first reading of each question (phrases encoded): mean {sum(cold) / len(cold):.1f} ms, "
          f"max {max(cold):.1f} ms")
    print(f"vocabulary from {len(payloads):,} payloads: {built:.2f} s, {len(vocab.values)} values, "
          f"{len(vocab.flags)} flags, {len(vocab.numbers)} numeric fields")
    print(f"understand(), phrases cached: mean {sum(times) / len(times):.3f} ms, p99 {times[int(0.99 * len(times))]:.3f} ms "
          f"over {len(times)} questions")


if __name__ == "__main__":
    main()
