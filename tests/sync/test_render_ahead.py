"""While a batch is embedded, the next one is already being rendered (app/sync/service.py `render_ahead`), and
what is written is what a sync rendering each batch in turn writes."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from app.sync.service import SyncService
from app.sync.sources import ExportSource
from tests.sync.test_sync import _close_pools, index_state, make_service, write_export  # noqa: F401
from tests.tracardi_emulator.generate import make_profiles


async def test_the_next_batch_renders_while_this_one_encodes(encoder, tmp_path: Path, pg_url: str,  # type: ignore[no-untyped-def]
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    profiles, events = make_profiles(8, seed=5, events_per_profile=3)
    export = write_export(tmp_path / "exp", profiles, events)
    svc = await make_service(encoder, tmp_path / "a", pg_url, batch_size=4)
    second_batch = {p["id"] for p in profiles[4:]}
    rendering_second = threading.Event()
    render = SyncService._render

    def watched(self: SyncService, item):  # type: ignore[no-untyped-def]
        if item.profile.id in second_batch:
            rendering_second.set()
        return render(self, item)

    seen_while_encoding: list[bool] = []
    encode = svc.encoder.encode

    def slow_encode(texts: list[str]) -> np.ndarray:
        if not seen_while_encoding:  # the first batch: does the second start rendering before this returns?
            seen_while_encoding.append(rendering_second.wait(timeout=20))
        return encode(texts)

    monkeypatch.setattr(SyncService, "_render", watched)
    monkeypatch.setattr(svc.encoder, "encode", slow_encode)
    result = await svc.run(ExportSource(export))
    assert seen_while_encoding == [True]
    assert result.embedded == 8

    monkeypatch.setattr(svc.encoder, "encode", encode)
    plain = await make_service(encoder, tmp_path / "b", pg_url, batch_size=8)
    await plain.state.reset()  # the same database: forget the first sync, so this one embeds everyone again
    await plain.run(ExportSource(export))  # one batch, rendered when its turn comes
    assert index_state(plain) == index_state(svc)  # the same documents, hashed the same
