"""The vocabulary's phrase vectors, kept on disk between processes.

Reading questions by meaning embeds every field and value of the synced data once per vocabulary build: 13 s at
20,000 values with the English model (bench/understanding_cost.py), about twice that with the multilingual one.
A server builds it after each sync, but every new process paid it again on its first question: a restart, each
`profile-ai count` and each agent session over `profile-ai mcp`. The vectors depend only on the model and the
phrase, so the last build's are stored and a new process encodes only the phrases it has not seen.

The file holds vectors keyed by a hash of each phrase, never the phrase: the vocabulary is the data's own words.
It holds the last build's phrases only (rewritten whole at each build, so it is bounded by the vocabulary's cap),
and an erasure deletes it (`forget`)."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from app.search.meaning_match import PhraseEncoder

log = logging.getLogger(__name__)

DIGEST = 16  # bytes of blake2b per phrase: collisions are out of reach at a vocabulary's size


def digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=DIGEST).digest()


class PhraseVectorStore:
    """One file per vector space (`model_id`) under `directory`."""

    def __init__(self, directory: Path, model_id: str) -> None:
        self.model_id = model_id
        space = hashlib.blake2b(model_id.encode(), digest_size=8).hexdigest()
        self.path = Path(directory) / f"phrase-vectors-{space}.npz"

    def load(self) -> dict[bytes, np.ndarray]:
        """What the last build stored; empty when nothing is stored or the file is not ours (then rebuilt)."""
        try:
            with np.load(self.path, allow_pickle=False) as f:
                if str(f["model_id"]) != self.model_id:
                    return {}
                keys, vectors = f["keys"], f["vectors"]
        except FileNotFoundError:
            return {}
        except Exception as exc:  # noqa: BLE001 - a damaged cache costs one re-encoding, never a question
            log.warning("stored phrase vectors at %s not read (%s): encoding them again", self.path, str(exc)[:200])
            return {}
        if keys.ndim != 2 or keys.shape[1] != DIGEST or vectors.ndim != 2 or len(keys) != len(vectors) \
                or vectors.dtype != np.float32:
            return {}
        return {bytes(k): v for k, v in zip(keys, vectors, strict=True)}

    def save(self, vectors: dict[bytes, np.ndarray]) -> None:
        """Replace the file with exactly `vectors` (atomically: a reader sees the old file or the new one)."""
        if not vectors:
            return
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # the data dir's own rule: owner-only
            keys = np.frombuffer(b"".join(vectors), dtype=np.uint8).reshape(len(vectors), DIGEST)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".phrase-vectors-", suffix=".npz")
            try:
                with os.fdopen(fd, "wb") as fh:
                    np.savez(fh, model_id=np.array(self.model_id), keys=keys,
                             vectors=np.stack(list(vectors.values())).astype(np.float32))
                os.replace(tmp, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError as exc:  # a read-only data directory: every process encodes, as before
            log.warning("phrase vectors not stored at %s: %s", self.path, str(exc)[:200])

    def forget(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


class RememberingEncoder:
    """A phrase encoder that takes what `known` holds and encodes the rest, and keeps every phrase it was asked
    for (`asked`: what a build used, to be stored for the next process)."""

    def __init__(self, encoder: PhraseEncoder, known: dict[bytes, np.ndarray]) -> None:
        self.encoder = encoder
        self.phrase_null_z = encoder.phrase_null_z
        self.known = known
        self.asked: dict[bytes, np.ndarray] = {}

    def encode_phrases(self, texts: Sequence[str]) -> np.ndarray:
        keys = [digest(t) for t in texts]
        missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in self.known and k not in self.asked}
        if missing:
            fresh = np.asarray(self.encoder.encode_phrases(list(missing.values())), dtype=np.float32)
            for k, v in zip(missing, fresh, strict=True):
                self.asked[k] = v
        for k in keys:
            if k not in self.asked:
                self.asked[k] = self.known[k]
        if not keys:
            return np.asarray(self.encoder.encode_phrases([]), dtype=np.float32)
        return np.stack([self.asked[k] for k in keys])
