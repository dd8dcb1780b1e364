"""The cyclic garbage collector is paused while a sync reads and collected once a batch (app/collector.py)."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

import app.sync.service as service_module
from app.collector import collector_paused
from app.sync.sources import ExportSource
from tests.sync.test_sync import _close_pools, make_service, write_export  # noqa: F401 - the pools' fixture
from tests.tracardi_emulator.generate import make_profiles


def test_paused_while_any_user_is_inside_and_restored_by_the_last() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
        with pytest.raises(RuntimeError), collector_paused():
            raise RuntimeError("a failing inner user")
        assert not gc.isenabled()  # the outer one is still inside
    assert gc.isenabled()


def test_left_off_when_it_was_off_before() -> None:
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()  # an operator's choice survives a sync
    finally:
        gc.enable()


async def test_a_sync_collects_once_a_batch_and_restores_the_collector(
        encoder, tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    profiles, events = make_profiles(9, seed=3, events_per_profile=2)
    export = write_export(tmp_path / "exp", profiles, events)
    svc = await make_service(encoder, tmp_path, pg_url, batch_size=4)
    seen: list[bool] = []
    monkeypatch.setattr(service_module, "collect_young", lambda: seen.append(gc.isenabled()))
    result = await svc.run(ExportSource(export))
    assert result.embedded == 9
    assert seen == [False, False, False]  # 4 + 4 + 1 profiles, the collector paused for each
    assert gc.isenabled()
    monkeypatch.setattr(svc, "prepare", _fail)
    with pytest.raises(RuntimeError):
        await svc.run(ExportSource(export), full=True)
    assert gc.isenabled()  # restored after a failed sync too


async def _fail(*_args: object) -> None:
    raise RuntimeError("the batch failed")


def test_a_cycle_is_collected_within_a_batch_and_the_old_generation_every_full_every(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import weakref

    import app.collector as collector

    class Node:
        pass

    with collector_paused():
        a, b = Node(), Node()
        a.other, b.other = b, a  # type: ignore[attr-defined]
        alive = weakref.ref(a)
        del a, b
        assert alive() is not None  # paused: the cycle waits for the batch's end
        collector.collect_young()
        assert alive() is None
        generations: list[int] = []

        def counted(generation: int = 2) -> int:
            generations.append(generation)
            return 0

        monkeypatch.setattr(collector.gc, "collect", counted)
        for _ in range(2 * collector.FULL_EVERY):
            collector.collect_young()
    assert generations.count(2) == 2 and len(generations) == 2 * collector.FULL_EVERY
