"""The event log is read by binary COPY into columns (no Python object per event): the same events, types,
times, values and goal matches as reading records, on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from app.config import DatabaseSettings, Settings
from app.container import Container
from app.predictions.repository import _read_binary_copy
from tests.tracardi_emulator.generate import make_profiles


def records_view(rows: list[Any], ids: list[str]) -> list[tuple[Any, ...]]:
    index = {p: i for i, p in enumerate(ids)}
    return sorted((index[r["profile_id"]], r["type"], r["t"], r["value"], r["hit"]) for r in rows
                  if r["profile_id"] in index)


async def test_columns_equal_records(encoder: Any, pg_url: str, tmp_path: Path) -> None:
    profiles, events = make_profiles(30, seed=4, events_per_profile=6)
    (tmp_path / "profiles.ndjson").write_text("".join(json.dumps(p) + "\n" for p in profiles))
    (tmp_path / "events.ndjson").write_text("".join(json.dumps(e) + "\n" for e in events))
    c = await Container.create(Settings(data_dir=tmp_path / "d", database=DatabaseSettings(url=pg_url)), encoder=encoder)
    try:
        await c.sync.run(c.source(str(tmp_path)))
        pool = c.database.pool
        someone = profiles[0]["id"]
        await pool.execute("INSERT INTO profile_ai.events(profile_id, event_id, type, time, value, properties) VALUES "
                           "($1, 'x1', 'content-rated', $2, NULL, $3), ('not-a-profile', 'x2', 'page-view', $2, 1.5, $4)",
                           someone, datetime(2024, 5, 1, tzinfo=UTC), {"genres": ["Horror", "Drama"]}, {})
        ids = sorted(p["id"] for p in profiles)[:25]  # five profiles left out: their events must be too
        for etype, key, value in ((None, None, None), ("purchase-order", "category", "shoes"),
                                  ("content-rated", "genres", "Horror")):
            cond = "false"
            args: list[Any] = []
            if key:
                cond = ("(type = $1 AND (properties #>> $2::text[] = $3 OR (jsonb_typeof(properties #> $2::text[]) = "
                        "'array' AND properties #> $2::text[] @> jsonb_build_array($3::text))))")
                args = [etype, key.split("."), value]
            rows = await pool.fetch(f"SELECT profile_id, type, extract(epoch FROM time)::float8 AS t, value, "
                                    f"{cond} AS hit FROM profile_ai.events", *args)
            cols = await c.predictions_repo.event_columns(ids, etype, key, value, spool=tmp_path, chunk_rows=7)
            got = sorted((int(p), cols.types[t], float(tm), None if np.isnan(v) else float(v), bool(h))
                         for p, t, tm, v, h in zip(cols.profile, cols.type, cols.time, cols.value, cols.hit, strict=True))
            assert got == records_view(list(rows), ids), (etype, key)
            assert len(got) > 100 and cols.profile.dtype == np.int32 and cols.time.dtype == np.float64
            if key == "genres":
                assert sum(h for *_, h in got) == (1 if someone in ids else 0)
            if key == "category":
                assert 0 < sum(h for *_, h in got) < len(got)
        spooled = await asyncio.to_thread(lambda: list(tmp_path.glob("events-*.copy")))
        assert spooled == []  # the spool file is gone
    finally:
        await c.aclose()


def test_a_stream_that_is_not_binary_copy_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.copy"
    bad.write_bytes(b"profile_id,type\n" * 10)
    try:
        _read_binary_copy(bad, [], 10)
    except ValueError as exc:
        assert "binary COPY" in str(exc)
    else:
        raise AssertionError("a CSV stream was read as binary COPY")
