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


class _Listed:
    """A source that delivers exactly these items, in this order (a profile may come twice, as a Tracardi read
    can deliver a profile updated while the read pages on)."""

    def __init__(self, key: str, items: list) -> None:  # type: ignore[type-arg]
        self.key, self.items = key, items
        self.complete, self.errors = False, []  # type: ignore[var-annotated]

    async def stream(self, since, known=None, events_since=None, only=None):  # type: ignore[no-untyped-def]
        for item in self.items:
            yield item

    async def stats(self) -> dict[str, int | str]:
        return {"profiles": len(self.items)}

    async def total(self) -> int | None:
        return len(self.items)


async def test_a_batch_encodes_while_the_one_before_is_written_and_a_profile_read_twice_keeps_its_last_read(
        encoder, tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from app.tracardi.export import ExportDirectory

    profiles, events = make_profiles(8, seed=9, events_per_profile=2)
    before = list(ExportDirectory(write_export(tmp_path / "a", profiles, events)).iter_profiles_with_events())
    changed = [{**p, "traits": {**p["traits"], "plan": "lifetime"}} if i == 0 else p for i, p in enumerate(profiles)]
    after = list(ExportDirectory(write_export(tmp_path / "b", changed, events)).iter_profiles_with_events())
    svc = await make_service(encoder, tmp_path / "s", pg_url, batch_size=4)
    await svc.run(_Listed("listed", before))  # the stored hash of profile 0 is its first version's
    first_version = index_state(svc)[profiles[0]["id"]]

    # the second run reads profile 0 changed (batch 1), then as it was (batch 2) while batch 1 is still written
    writing_first = threading.Event()
    encoded_during_write: list[bool] = []
    apply, encode = svc.apply, svc.encoder.encode

    async def slow_apply(batch):  # type: ignore[no-untyped-def]
        if not writing_first.is_set():
            writing_first.set()
            import asyncio
            await asyncio.sleep(1.0)  # the next batch's encoding runs meanwhile
        await apply(batch)

    def watched_encode(texts: list[str]) -> np.ndarray:
        encoded_during_write.append(writing_first.is_set())
        return encode(texts)

    monkeypatch.setattr(svc, "apply", slow_apply)
    monkeypatch.setattr(svc.encoder, "encode", watched_encode)
    result = await svc.run(_Listed("listed", [after[0], *after[1:4], before[0], *before[5:8]]))
    assert encoded_during_write == [False, True]  # batch 2 encoded while batch 1 was being written
    assert result.embedded == 2  # profile 0 twice: its stored hash was stale for batch 2, so it was not trusted
    assert index_state(svc)[profiles[0]["id"]] == first_version  # the last read wins, as written in read order
    assert (await svc.state.hashes([profiles[0]["id"]]))[profiles[0]["id"]] == first_version
