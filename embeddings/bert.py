"""The BERT encoder both text models are (all-MiniLM-L6-v2: 6 layers; multilingual-e5-small: 12), written out once
and compiled by TorchScript, so a forward pass runs without Python's GIL.

Why compiled: a forward pass is about 100 kernels, and eager PyTorch takes the GIL back between every two of them.
During a sync the pipeline's Python (reading, documents, payloads) holds the GIL most of the time, so the encoder
waited for it before each kernel: beside a busy Python thread MiniLM encoded 2.6-3.8x and e5 4-5x slower than
alone, where sharing two cores with one thread costs at most 2x; compiled, 1.7-1.9x and 2.3x
(bench/encode_throughput.py prints both). A TorchScript module runs its whole graph in C++ with the GIL released.

Per layer: one fused QKV projection, PyTorch's scaled-dot-product attention, the output projection, the GELU
feed-forward and two LayerNorms (post-norm), the embeddings summed and normalised first. Weights are cast, not
autocast (faster on the same documents; MiniLM's vectors at cosine 0.9999 to sentence-transformers' autocast
ones, the least of 203 texts 0.99989).
No `from __future__ import annotations` here: TorchScript reads the annotations as types, not strings.
"""

import logging
import warnings
from collections.abc import Mapping
from typing import cast

import numpy as np
import torch
from torch import nn

log = logging.getLogger(__name__)


class Layer(nn.Module):
    def __init__(self, w: Mapping[str, torch.Tensor], heads: int, eps: float) -> None:
        super().__init__()
        self.heads, self.eps = heads, eps

        def param(name: str) -> nn.Parameter:
            return nn.Parameter(w[name].contiguous(), requires_grad=False)

        self.qkv_w, self.qkv_b = param("qkv_w"), param("qkv_b")  # query, key and value stacked: one matmul
        self.out_w, self.out_b = param("out_w"), param("out_b")
        self.norm1_w, self.norm1_b = param("norm1_w"), param("norm1_b")
        self.up_w, self.up_b = param("up_w"), param("up_b")
        self.down_w, self.down_b = param("down_w"), param("down_b")
        self.norm2_w, self.norm2_b = param("norm2_w"), param("norm2_b")

    def forward(self, x: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        f = torch.nn.functional
        batch, length, hidden = x.shape[0], x.shape[1], x.shape[2]
        qkv = f.linear(x, self.qkv_w, self.qkv_b).view(batch, length, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        context = f.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attn_mask=keys)
        context = context.transpose(1, 2).reshape(batch, length, hidden)
        x = f.layer_norm(x + f.linear(context, self.out_w, self.out_b), [hidden], self.norm1_w, self.norm1_b, self.eps)
        up = f.gelu(f.linear(x, self.up_w, self.up_b))
        return f.layer_norm(x + f.linear(up, self.down_w, self.down_b), [hidden], self.norm2_w, self.norm2_b, self.eps)


class Table(nn.Module):
    """A plain embedding table (MiniLM's word rows; e5 keeps its rows 4-bit: `Q4Embedding`)."""

    def __init__(self, weight: torch.Tensor) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight.contiguous(), requires_grad=False)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.embedding(ids, self.weight)


class Q4Embedding(nn.Module):
    """Embedding rows kept as 4-bit blocks (60 MB for 250k x 384) and expanded only for the ids a batch uses.
    Casting the model casts the scales; the nibbles stay bytes (`Module.to` leaves integer buffers alone)."""

    scales: torch.Tensor
    nibbles: torch.Tensor

    def __init__(self, scales: np.ndarray, nibbles: np.ndarray) -> None:
        super().__init__()
        self.register_buffer("scales", torch.from_numpy(scales), persistent=False)
        self.register_buffer("nibbles", torch.from_numpy(nibbles), persistent=False)
        self.embedding_dim = scales.shape[1] * 32

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        packed = self.nibbles[ids].to(torch.int16)
        values = torch.cat([(packed & 0x0F) - 8, (packed >> 4) - 8], dim=-1)
        out = values.to(torch.float32) * self.scales[ids].to(torch.float32)[..., None]
        return out.reshape(ids.shape[0], ids.shape[1], self.embedding_dim).to(self.scales.dtype)


LENGTH_STEP = 16  # a batch of several texts is padded to a multiple of this many tokens (about 3% more work)


def padded_length(longest: int, rows: int, limit: int, step: int) -> int:
    """The length a batch is padded to. oneDNN builds and keeps a kernel for every matrix shape it meets (up to
    1,024 of them), and a sync met a new (rows, length) at nearly every batch: the process grew by about 1 GB over
    600 batches of random shapes (`bench/encoder_memory.py`). Documents padded to a multiple of LENGTH_STEP meet
    a few dozen shapes; padding is masked, so the vectors move only by bf16 rounding. A question (one row) keeps its length:
    questions meet few lengths, and a question padded would pay for tokens it does not have."""
    if rows <= 1:
        return longest
    return min(max(limit, longest), -(-longest // step) * step)


class BertEncoder(nn.Module):
    """`ids`, `mask`: [batch, length] (mask 1 on real tokens) -> the mean of the last hidden states over the real
    tokens (special tokens included, as both models were trained), float32 [batch, hidden]. Every token is of
    type 0 (one text per row). Pooling is part of the compiled graph: each call from Python into torch may wait
    for the GIL, so a batch makes one."""

    def __init__(self, word: nn.Module, position: torch.Tensor, token_type: torch.Tensor,
                 norm: tuple[torch.Tensor, torch.Tensor], layers: list[Layer], eps: float) -> None:
        super().__init__()
        self.word = word
        self.position = nn.Parameter(position.contiguous(), requires_grad=False)
        self.token_type = nn.Parameter(token_type.contiguous(), requires_grad=False)
        self.norm_w = nn.Parameter(norm[0].contiguous(), requires_grad=False)
        self.norm_b = nn.Parameter(norm[1].contiguous(), requires_grad=False)
        self.layers = nn.ModuleList(layers)
        self.eps = eps
        self.length_step = LENGTH_STEP

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        ids, mask = ids.to(self.position.device), mask.to(self.position.device)
        extra = padded_length(ids.shape[1], ids.shape[0], self.position.shape[0], self.length_step) - ids.shape[1]
        if extra > 0:  # few shapes, few kernels kept (padded_length); the padding is masked like any other
            ids = torch.nn.functional.pad(ids, [0, extra])
            mask = torch.nn.functional.pad(mask, [0, extra])
        length = ids.shape[1]
        hidden = self.position.shape[1]
        x = self.word(ids) + self.position[:length] + self.token_type
        x = torch.nn.functional.layer_norm(x, [hidden], self.norm_w, self.norm_b, self.eps)
        keys = mask[:, None, None, :].to(torch.bool)  # padding is never attended to
        for layer in self.layers:
            x = layer(x, keys)
        real = mask[..., None].to(torch.float32)
        return ((x.to(torch.float32) * real).sum(1) / real.sum(1).clamp(min=1.0)).cpu()


def compiled(model: BertEncoder) -> nn.Module:
    """The model as TorchScript: the same kernels, run without the GIL. TorchScript is deprecated from torch 2.13
    on (its successors, torch.compile and torch.export, compile C++ at start-up or pin shapes) but works in the
    torch this project pins; where scripting fails, the eager module is returned, slower beside other Python and
    otherwise the same."""
    model = model.eval()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return cast(nn.Module, torch.jit.script(model))
    except Exception as exc:  # noqa: BLE001 - any failure to compile leaves a working model
        log.warning("TorchScript could not compile the encoder (%s): running it eagerly", exc)
        return model


def layers_from_hf(state: Mapping[str, torch.Tensor], count: int, heads: int, eps: float,
                   dtype: torch.dtype) -> list[Layer]:
    """A Hugging Face BertModel's encoder layers (its state_dict's names) as `Layer`s in `dtype`."""
    out = []
    for i in range(count):
        p = f"encoder.layer.{i}."

        def get(name: str, p: str = p) -> torch.Tensor:
            return state[p + name].to(dtype)

        qkv_w = torch.cat([get(f"attention.self.{k}.weight") for k in ("query", "key", "value")])
        qkv_b = torch.cat([get(f"attention.self.{k}.bias") for k in ("query", "key", "value")])
        out.append(Layer({
            "qkv_w": qkv_w, "qkv_b": qkv_b,
            "out_w": get("attention.output.dense.weight"), "out_b": get("attention.output.dense.bias"),
            "norm1_w": get("attention.output.LayerNorm.weight"), "norm1_b": get("attention.output.LayerNorm.bias"),
            "up_w": get("intermediate.dense.weight"), "up_b": get("intermediate.dense.bias"),
            "down_w": get("output.dense.weight"), "down_b": get("output.dense.bias"),
            "norm2_w": get("output.LayerNorm.weight"), "norm2_b": get("output.LayerNorm.bias"),
        }, heads, eps))
    return out
