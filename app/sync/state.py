"""Sync state: which profile is indexed with which content hash, merge aliases, watermarks.

`SyncState` is the interface; `SqliteSyncState` keeps it in the data dir until the PostgreSQL store (the
state-layer issue) implements the same interface. Every batch is committed in one transaction, after the
index has flushed, so the state never claims more than the index holds.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class IndexedRow:
    profile_id: str
    content_hash: str
    updated_at: str | None
    fingerprint: str | None = None


class SyncState(Protocol):
    def hashes(self, profile_ids: Sequence[str]) -> dict[str, str]: ...

    def fingerprints(self, profile_ids: Sequence[str]) -> dict[str, str]: ...

    def commit_batch(self, rows: Sequence[IndexedRow], deleted: Sequence[str], aliases: dict[str, str]) -> None: ...

    def all_profile_ids(self) -> set[str]: ...

    def resolve(self, profile_id: str) -> str: ...

    def watermark(self, source: str) -> datetime | None: ...

    def set_watermark(self, source: str, value: datetime) -> None: ...

    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...

    def reset(self) -> None: ...

    def close(self) -> None: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS indexed (profile_id TEXT PRIMARY KEY, content_hash TEXT NOT NULL, updated_at TEXT,
                                    fingerprint TEXT);
CREATE TABLE IF NOT EXISTS aliases (absorbed_id TEXT PRIMARY KEY, survivor_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS watermarks (source TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class SqliteSyncState:
    def __init__(self, path: Path | str) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def _column(self, column: str, profile_ids: Sequence[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        with self._lock:
            for i in range(0, len(profile_ids), 500):
                chunk = list(profile_ids[i:i + 500])
                q = f"SELECT profile_id, {column} FROM indexed WHERE profile_id IN ({','.join('?' * len(chunk))})"
                out.update({k: v for k, v in self._db.execute(q, chunk).fetchall() if v is not None})
        return out

    def hashes(self, profile_ids: Sequence[str]) -> dict[str, str]:
        return self._column("content_hash", profile_ids)

    def fingerprints(self, profile_ids: Sequence[str]) -> dict[str, str]:
        return self._column("fingerprint", profile_ids)

    def commit_batch(self, rows: Sequence[IndexedRow], deleted: Sequence[str], aliases: dict[str, str]) -> None:
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany(
                    "INSERT INTO indexed(profile_id, content_hash, updated_at, fingerprint) VALUES (?,?,?,?) "
                    "ON CONFLICT(profile_id) DO UPDATE SET content_hash=excluded.content_hash, "
                    "updated_at=excluded.updated_at, fingerprint=excluded.fingerprint",
                    [(r.profile_id, r.content_hash, r.updated_at, r.fingerprint) for r in rows])
                self._db.executemany("DELETE FROM indexed WHERE profile_id=?", [(d,) for d in deleted])
                self._db.executemany(
                    "INSERT INTO aliases(absorbed_id, survivor_id) VALUES (?,?) "
                    "ON CONFLICT(absorbed_id) DO UPDATE SET survivor_id=excluded.survivor_id",
                    list(aliases.items()))
                # a survivor is never an alias of something else
                self._db.executemany("DELETE FROM aliases WHERE absorbed_id=?", [(r.profile_id,) for r in rows])
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def all_profile_ids(self) -> set[str]:
        with self._lock:
            return {r[0] for r in self._db.execute("SELECT profile_id FROM indexed")}

    def rows(self) -> list[IndexedRow]:
        with self._lock:
            return [IndexedRow(*r) for r in self._db.execute(
                "SELECT profile_id, content_hash, updated_at FROM indexed ORDER BY profile_id")]

    def resolve(self, profile_id: str) -> str:
        seen = {profile_id}
        current = profile_id
        with self._lock:
            while True:
                row = self._db.execute("SELECT survivor_id FROM aliases WHERE absorbed_id=?", (current,)).fetchone()
                if row is None or row[0] in seen:
                    return current
                current = row[0]
                seen.add(current)

    def watermark(self, source: str) -> datetime | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM watermarks WHERE source=?", (source,)).fetchone()
        return datetime.fromisoformat(row[0]) if row else None

    def set_watermark(self, source: str, value: datetime) -> None:
        with self._lock:
            self._db.execute("INSERT INTO watermarks(source, value) VALUES (?,?) ON CONFLICT(source) "
                             "DO UPDATE SET value=excluded.value", (source, value.isoformat()))

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT INTO meta(key, value) VALUES (?,?) ON CONFLICT(key) DO UPDATE SET "
                             "value=excluded.value", (key, value))

    def reset(self) -> None:
        with self._lock:
            self._db.executescript("DELETE FROM indexed; DELETE FROM watermarks;")

    def delete_ids(self, ids: Iterable[str]) -> None:
        with self._lock:
            self._db.executemany("DELETE FROM indexed WHERE profile_id=?", [(i,) for i in ids])

    def close(self) -> None:
        with self._lock:
            self._db.close()
