"""MovieLens 100k (shipped in the recbole wheel) as a Tracardi export directory.

Users become 1.x profiles (age as a trait, gender and occupation in `data`, the zip code as a postal
address, which redaction must keep out of documents); ratings become `content-rated` events with the
movie's title, year, genres and the rating. The files are read by path (recbole itself is not imported):
research-use terms, so the data is converted at run time and never committed.
"""

from __future__ import annotations

import csv
import importlib.util
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.demo.writer import stable_id, write_export


class DatasetMissingError(RuntimeError):
    pass


def movielens_dir() -> Path:
    spec = importlib.util.find_spec("recbole")
    if spec is None or not spec.submodule_search_locations:
        raise DatasetMissingError("MovieLens 100k needs the recbole wheel: pip install --no-deps recbole==1.2.1")
    path = Path(next(iter(spec.submodule_search_locations))) / "dataset_example" / "ml-100k"
    if not (path / "ml-100k.inter").is_file():
        raise DatasetMissingError(f"MovieLens files not found under {path}")
    return path


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="latin-1", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t")
        header = [h.split(":")[0] for h in next(reader)]
        return [dict(zip(header, row, strict=False)) for row in reader]


def profile_id(user_id: str) -> str:
    return stable_id("movielens-user", user_id)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat()


def load_movielens() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    base = movielens_dir()
    items = {r["item_id"]: r for r in _rows(base / "ml-100k.item")}
    users = _rows(base / "ml-100k.user")
    ratings = _rows(base / "ml-100k.inter")
    by_user: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in ratings:
        by_user[r["user_id"]].append(r)
    profiles: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for u in users:
        uid = u["user_id"]
        pid = profile_id(uid)
        mine = sorted(by_user.get(uid, []), key=lambda r: (float(r["timestamp"]), r["item_id"]))
        first = float(mine[0]["timestamp"]) if mine else 874724710.0
        last = float(mine[-1]["timestamp"]) if mine else first
        days = {datetime.fromtimestamp(float(r["timestamp"]), tz=UTC).date() for r in mine}
        profiles.append({
            "id": pid,
            "ids": [pid],
            "primary_id": None,
            "active": True,
            "metadata": {"time": {"insert": _iso(first), "create": _iso(first), "update": _iso(last),
                                  "visit": {"last": _iso(last), "current": _iso(last), "count": len(days)}}},
            "stats": {"visits": len(days), "views": 0, "counters": {}},
            "traits": {"age": int(u["age"])},
            "data": {
                "pii": {"gender": {"M": "male", "F": "female"}.get(u["gender"], u["gender"])},
                "job": {"position": u["occupation"]},
                "contact": {"address": {"postcode": u["zip_code"], "country": "US"}},
                "identifier": {"id": f"movielens-{uid}"},
            },
            "segments": [], "interests": {}, "consents": {}, "aux": {}, "trash": {},
        })
        for r in mine:
            item = items.get(r["item_id"], {})
            ts = float(r["timestamp"])
            year = item.get("release_year") or ""
            events.append({
                "id": stable_id("movielens-rating", f"{uid}:{r['item_id']}"),
                "type": "content-rated",
                "name": "Content rated",
                "metadata": {"time": {"insert": _iso(ts), "create": _iso(ts)}, "status": "collected",
                             "channel": "web"},
                "source": {"id": "movielens"},
                "session": None,
                "profile": {"id": pid},
                "properties": {
                    "item_id": r["item_id"],
                    "title": item.get("movie_title", f"movie {r['item_id']}").strip(),
                    "year": int(year) if year.isdigit() else None,
                    "genres": (item.get("class") or "").split(),
                    "rating": int(float(r["rating"])),
                },
                "traits": {}, "context": {}, "tags": {"values": [], "count": 0},
            })
    return profiles, events


def build_movielens_export(directory: Path) -> Path:
    profiles, events = load_movielens()
    return write_export(directory, profiles, events)
