"""Where and in which precision an encoder runs: the GPU when there is one (fp16), else the CPU in bf16 where it
multiplies bf16 natively, fp32 elsewhere. Shared by both encoders (`encoder.py`, `e5_encoder.py`)."""

from __future__ import annotations

from pathlib import Path


def cpu_has_bf16() -> bool:
    """True where the CPU multiplies bfloat16 natively (AVX512-BF16 or AMX); elsewhere bf16 is emulated, slow."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="ignore")
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def pick_device() -> str:
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:  # pragma: no cover - torch is a dependency
        return "cpu"


def pick_precision(precision: str, device: str) -> str:
    if precision != "auto":
        return precision
    if device.startswith("cuda"):
        return "fp16"
    return "bf16" if device == "cpu" and cpu_has_bf16() else "fp32"
