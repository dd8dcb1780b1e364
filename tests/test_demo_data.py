"""The demo converters build real export directories from the wheels' data sets."""

from __future__ import annotations

from pathlib import Path

from app.demo.cdnow import build_cdnow_export
from app.tracardi.export import ExportDirectory, ExportReport


def test_movielens_export(movielens_export: Path) -> None:
    exp = ExportDirectory(movielens_export)
    assert exp.stats() == {"profiles": 943, "events": 100_000}
    report = ExportReport()
    first = next(exp.iter_profiles_with_events(report))
    assert first.profile.traits["age"] > 0 and first.events[0].type == "content-rated"
    assert {"title", "genres", "rating", "year"} <= set(first.events[0].properties)


def test_cdnow_export(tmp_path: Path) -> None:
    d = build_cdnow_export(tmp_path / "cdnow", limit_customers=50)
    items = list(ExportDirectory(d).iter_profiles_with_events())
    assert len(items) == 50
    ev = items[0].events[0]
    assert ev.type == "purchase-order" and ev.properties["value"] > 0 and ev.properties["quantity"] >= 1
