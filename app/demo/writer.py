"""Write an export directory (profiles.ndjson + events.ndjson) atomically."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

NAMESPACE = uuid.UUID("8f6b1c52-2f0e-4c1e-9a51-3d1b5e0f7a10")


def stable_id(kind: str, key: str) -> str:
    """Deterministic uuid-shaped id, as Tracardi ids look, for a record of a converted data set."""
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{key}"))


def write_export(directory: Path, profiles: Iterable[dict[str, Any]], events: Iterable[dict[str, Any]]) -> Path:
    """Write to a temporary sibling and rename, so a crash never leaves half an export behind."""
    directory = Path(directory)
    tmp = directory.with_name(directory.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    with open(tmp / "profiles.ndjson", "wb") as fh:
        for p in profiles:
            fh.write(orjson.dumps(p) + b"\n")
    with open(tmp / "events.ndjson", "wb") as fh:
        for e in events:
            fh.write(orjson.dumps(e) + b"\n")
    shutil.rmtree(directory, ignore_errors=True)
    os.replace(tmp, directory)
    return directory
