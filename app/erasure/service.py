"""Right to erasure and profiling transparency (GDPR art. 15, 17, 21, 22).

`forget` removes a person (the id asked for, its survivor if it was merged, every id merged into it) from every
store the layer owns: index points (dense and sparse live in one point), features, the event log, predictions
and their drivers, segment memberships of every version, the write-back queue (pending items cancelled by
removal), aliases and the caches built from them. It leaves a tombstone per id (a keyed hash, never the id) that
stops a later sync or webhook push from bringing the person back, and an append-only log entry with counts.
The index goes first and the database in one transaction after: a crash in between leaves rows that the next
`forget` finds and removes, so re-running it completes the erasure. A deleted index point is only marked
deleted inside its segment; the embedded index's segments holding it are rewritten by a coalesced purge
(`purge`, wired by the container), so the vector and payload leave the files too.

`explain` says what the layer holds and infers about one person, in the deployment's wording.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from app.erasure.repository import ErasureRepository
from app.errors import NotFoundError
from embeddings.index import VectorIndex

log = logging.getLogger(__name__)


def erasure_key(configured: str | None, data_dir: Path) -> bytes:
    """The HMAC key of tombstones: configured (several servers must share it), else a random key kept in the
    data dir (0600), made on first use. Without it, a tombstone cannot be linked back to an id."""
    if configured:
        return configured.encode()
    path = Path(data_dir) / "erasure.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


class ErasureKeyMismatchError(RuntimeError):
    pass


async def check_erasure_key(pool: Any, key: bytes, *, owner: bool) -> None:
    """Tombstones are HMACs, so every process that syncs must hash with the same key: a worker on another
    machine with its own key would not recognise a forgotten person and would encode them again. The owner
    (the server) records a check value; a remote worker whose key does not match it stops with one line."""
    check = hmac.new(key, b"profile-ai erasure key check", "sha256").hexdigest()[:16]
    if owner:
        await pool.execute("INSERT INTO profile_ai.meta(key, value) VALUES ('erasure_key_check', $1) "
                           "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", check)
        return
    stored = await pool.fetchval("SELECT value FROM profile_ai.meta WHERE key = 'erasure_key_check'")
    if stored is not None and stored != check:
        raise ErasureKeyMismatchError("this worker's erasure key differs from the server's: set "
                                      "PROFILE_AI_PRIVACY__ERASURE_KEY to the same value on every machine")


class ErasureService:
    def __init__(self, repo: ErasureRepository, index: VectorIndex, key: bytes,
                 drop_caches: Callable[[], None] = lambda: None,
                 clear_remote: Callable[[list[str]], Awaitable[int | None]] | None = None) -> None:
        self.clear_remote = clear_remote  # clears traits.ai in Tracardi (None: no Tracardi configured)
        self.repo = repo
        self.index = index
        self.key = key
        self.drop_caches = drop_caches
        # asks for the index's files to be rewritten without the deleted points (coalesced by the container);
        # None: nothing to ask (a Qdrant server vacuums by its collection's own thresholds)
        self.purge: Callable[[], None] | None = None
        self._lock = asyncio.Lock()

    def id_hash(self, profile_id: str) -> str:
        return hmac.new(self.key, profile_id.encode(), hashlib.sha256).hexdigest()

    async def forgotten(self, profile_ids: list[str]) -> set[str]:
        """Which of these ids belong to a forgotten person (the sync and the webhook ask before writing)."""
        hashes = {self.id_hash(i): i for i in profile_ids}
        return {hashes[h] for h in await self.repo.forgotten(list(hashes))}

    async def forget(self, profile_id: str, *, actor: str, reason: str | None = None,
                     clear_tracardi: bool = False) -> dict[str, Any]:
        if not profile_id or len(profile_id) > 200:
            raise NotFoundError.worded("profile_id_length")
        async with self._lock:
            ids = await self.repo.person_ids(profile_id)
            held = await self.repo.held(ids)
            points = await asyncio.to_thread(self.index.retrieve, ids)
            if not points and not any(held.values()):
                already = await self.forgotten([profile_id])
                raise NotFoundError.worded("profile_already_erased" if already else "profile_not_held",
                                          profile=profile_id)
            hashes = [self.id_hash(i) for i in ids]

            def drop_points() -> None:
                self.index.delete(ids)
                self.index.flush()

            await asyncio.to_thread(drop_points)
            erasure_id, removed = await self.repo.erase(ids, hashes, actor=actor, reason=reason,
                                                        index_points=len(points))
            self.drop_caches()
            if self.purge is not None and points:
                self.purge()
        cleared: int | str | None = None
        if clear_tracardi and self.clear_remote is not None:
            try:  # after the local erasure, which must not wait on (or fail with) a remote system
                cleared = await self.clear_remote(ids)
            except Exception as exc:  # noqa: BLE001 - reported in the answer; the local erasure stands
                cleared = f"failed: {type(exc).__name__}: {exc}"
        log.info("erasure done", extra={"erasure_id": erasure_id, "ids": len(ids), "actor": actor})
        return {"erasure_id": erasure_id, "ids_erased": len(ids), "removed": removed, "tracardi_cleared": cleared,
                "tombstoned": True, "index_files_purge": "scheduled" if self.purge is not None and points else None,
                "verify": await self.verify(profile_id, ids)}

    async def verify(self, profile_id: str, ids: list[str] | None = None) -> dict[str, Any]:
        """Rows still held for the person in every store (all 0 after an erasure), and whether it is tombstoned."""
        ids = sorted(set(ids or []) | set(await self.repo.person_ids(profile_id)))
        held = await self.repo.held(ids)
        held["index_points"] = len(await asyncio.to_thread(self.index.retrieve, ids))
        return {"held": held, "total": sum(held.values()), "tombstoned": bool(await self.forgotten([profile_id]))}

    async def unforget(self, profile_id: str, *, actor: str, reason: str | None = None) -> int:
        return await self.repo.lift([self.id_hash(profile_id)], actor=actor, reason=reason)
