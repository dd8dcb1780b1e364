"""Read an export directory (`profiles.ndjson` + `events.ndjson`) as profiles with their events.

Any Tracardi version's shapes are accepted (schemas.py normalises them). Memory stays bounded: a small
export is joined in memory; a large one is first split into hash buckets on disk (by profile id, after
resolving merges), and then joined one bucket at a time, so a 1 GB export never sits in memory whole.
A malformed line is reported with its file and line number and skipped; the rest goes on.
"""

from __future__ import annotations

import tempfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from app.tracardi.schemas import (
    OWN_EVENT_TYPES,
    RecordError,
    parse_event,
    parse_profile,
    shallow_text,
)
from profiles.model import Event, Profile, ProfileWithEvents

PROFILES_FILE = "profiles.ndjson"
EVENTS_FILE = "events.ndjson"
BUCKET_BYTES = 32 * 1024 * 1024  # join at most about this much event JSON in memory at once


class ExportDirectoryError(ValueError):
    """The directory is not an export directory."""


@dataclass
class ExportReport:
    profiles: int = 0
    events: int = 0
    orphan_events: int = 0  # events whose profile is not in the export
    errors: list[str] = field(default_factory=list)

    def error(self, err: RecordError | str) -> None:
        self.errors.append(str(err))


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with open(path, "rb") as fh:
        for lineno, line in enumerate(fh, start=1):
            if line.strip():
                yield lineno, line


def _load(line: bytes, where: str, report: ExportReport) -> Any:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        report.error(RecordError(where, "<json>", f"not valid JSON: {exc}"))
        return None


class ExportDirectory:
    def __init__(self, directory: Path | str, *, bucket_bytes: int = BUCKET_BYTES) -> None:
        self.directory = Path(directory)
        self.bucket_bytes = bucket_bytes
        if not (self.directory / PROFILES_FILE).is_file():
            raise ExportDirectoryError(f"{self.directory} is not an export directory: {PROFILES_FILE} missing")

    @property
    def profiles_path(self) -> Path:
        return self.directory / PROFILES_FILE

    @property
    def events_path(self) -> Path:
        return self.directory / EVENTS_FILE

    def profile_count(self) -> int:
        return sum(1 for _ in _lines(self.profiles_path))

    def stats(self) -> dict[str, int]:
        """Counts of records (non-blank lines) without parsing them."""
        profiles = sum(1 for _ in _lines(self.profiles_path))
        events = sum(1 for _ in _lines(self.events_path)) if self.events_path.is_file() else 0
        return {"profiles": profiles, "events": events}

    def _aliases(self, report: ExportReport) -> dict[str, str]:
        """absorbed id -> surviving id, from `ids` (0.8+) and `metadata.merged_with` (0.7)."""
        aliases: dict[str, str] = {}
        for lineno, line in _lines(self.profiles_path):
            raw = _load(line, f"{PROFILES_FILE}:{lineno}", ExportReport())
            if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
                continue
            merged = (raw.get("metadata") or {}).get("merged_with") if isinstance(raw.get("metadata"), dict) else None
            if isinstance(merged, str) and merged and raw.get("active") is False:
                aliases[raw["id"]] = merged
            ids = raw.get("ids")
            if isinstance(ids, list):
                for other in ids:
                    if isinstance(other, str) and other != raw["id"]:
                        aliases.setdefault(other, raw["id"])
        # follow chains (0.7 can merge a survivor again later)
        for key in list(aliases):
            seen = {key}
            target = aliases[key]
            while target in aliases and target not in seen:
                seen.add(target)
                target = aliases[target]
            aliases[key] = target
        return aliases

    def iter_profiles_with_events(self, report: ExportReport | None = None,
                                  keep: Callable[[str], bool] | None = None) -> Iterator[ProfileWithEvents]:
        """Every profile with its history; with `keep`, only the profiles whose id it accepts (a backfill
        partition): the others' records are not validated or built, which is most of a read's cost."""
        report = report if report is not None else ExportReport()
        aliases = self._aliases(report)
        size = self.events_path.stat().st_size if self.events_path.is_file() else 0
        buckets = max(1, -(-size // self.bucket_bytes))
        if buckets == 1:
            events = self._group_events(self._event_lines(), aliases, report, keep)
            yield from self._join(_lines(self.profiles_path), events, aliases, report, keep)
            self._count_orphans(events, report)
            return
        with tempfile.TemporaryDirectory(prefix="profile-ai-export-") as tmp:
            ppaths, epaths = self._partition(Path(tmp), buckets, aliases, report)
            for pb, eb in zip(ppaths, epaths, strict=True):
                events = self._group_events(self._bucket_lines(eb), aliases, report, keep)
                yield from self._join(self._bucket_lines(pb), events, aliases, report, keep)
                self._count_orphans(events, report)

    # -- internals
    def _event_lines(self) -> Iterator[tuple[int, bytes]]:
        if self.events_path.is_file():
            yield from _lines(self.events_path)

    @staticmethod
    def _bucket_lines(path: Path) -> Iterator[tuple[int, bytes]]:
        with open(path, "rb") as fh:
            for line in fh:
                lineno, _, body = line.partition(b"\t")
                yield int(lineno), body

    def _partition(self, tmp: Path, n: int, aliases: dict[str, str], report: ExportReport,
                   ) -> tuple[list[Path], list[Path]]:
        def bucket_of(pid: str) -> int:
            return zlib.crc32(pid.encode()) % n

        ppaths = [tmp / f"p{i}.ndjson" for i in range(n)]
        epaths = [tmp / f"e{i}.ndjson" for i in range(n)]
        handles = [open(p, "wb") for p in ppaths]  # noqa: SIM115 - closed in finally
        try:
            for lineno, line in _lines(self.profiles_path):
                raw = _load(line, f"{PROFILES_FILE}:{lineno}", report)
                pid = raw.get("id") if isinstance(raw, dict) else None
                if raw is not None:
                    # records without a usable id still go to bucket 0 so the join reports them
                    handles[bucket_of(pid) if isinstance(pid, str) else 0].write(b"%d\t%s" % (lineno, line.rstrip(b"\n") + b"\n"))
        finally:
            for h in handles:
                h.close()
        handles = [open(p, "wb") for p in epaths]  # noqa: SIM115
        try:
            for lineno, line in self._event_lines():
                raw = _load(line, f"{EVENTS_FILE}:{lineno}", report)
                if raw is None:
                    continue
                pid = (raw.get("profile") or {}).get("id") if isinstance(raw, dict) and isinstance(raw.get("profile"), dict) else None
                pid = aliases.get(pid, pid) if isinstance(pid, str) else None
                handles[bucket_of(pid) if pid else 0].write(b"%d\t%s" % (lineno, line.rstrip(b"\n") + b"\n"))
        finally:
            for h in handles:
                h.close()
        return ppaths, epaths

    def _group_events(self, lines: Iterator[tuple[int, bytes]], aliases: dict[str, str],
                      report: ExportReport, keep: Callable[[str], bool] | None = None) -> dict[str, list[Event]]:
        grouped: dict[str, list[Event]] = {}
        for lineno, line in lines:
            where = f"{EVENTS_FILE}:{lineno}"
            raw = _load(line, where, report)
            if raw is None:
                continue
            if keep is not None and isinstance(raw, dict) and isinstance(raw.get("profile"), dict):
                pid = raw["profile"].get("id")
                if isinstance(pid, str) and pid and not keep(aliases.get(pid, pid)):
                    continue  # another partition's event
            try:
                ev = parse_event(raw, location=where, shallow=shallow_text(line))
            except RecordError as err:
                report.error(err)
                continue
            if not ev.profile_id:
                report.error(RecordError(where, "profile.id", "missing: an event must belong to a profile"))
                continue
            if ev.type in OWN_EVENT_TYPES:  # our own write-back, exported with the rest
                continue
            survivor = aliases.get(ev.profile_id, ev.profile_id)
            if survivor != ev.profile_id:
                ev = ev.model_copy(update={"profile_id": survivor})
            grouped.setdefault(survivor, []).append(ev)
        return grouped

    def _join(self, lines: Iterator[tuple[int, bytes]], events: dict[str, list[Event]],
              aliases: dict[str, str], report: ExportReport,
              keep: Callable[[str], bool] | None = None) -> Iterator[ProfileWithEvents]:
        for lineno, line in lines:
            where = f"{PROFILES_FILE}:{lineno}"
            raw = _load(line, where, report)
            if raw is None:
                continue
            if keep is not None and isinstance(raw, dict) and isinstance(raw.get("id"), str) and raw["id"] \
                    and not keep(raw["id"]):
                continue  # another partition's profile
            try:
                profile: Profile = parse_profile(raw, location=where, shallow=shallow_text(line))
            except RecordError as err:
                report.error(err)
                continue
            if profile.id in aliases:  # a 0.7 duplicate kept inactive: its history lives with the survivor
                yield ProfileWithEvents(profile=profile.model_copy(update={"active": False}), events=[])
                continue
            history = events.pop(profile.id, [])
            history.sort(key=lambda e: (e.time, e.id))
            report.profiles += 1
            report.events += len(history)
            yield ProfileWithEvents(profile=profile, events=history)

    @staticmethod
    def _count_orphans(events: dict[str, list[Event]], report: ExportReport) -> None:
        for evs in events.values():
            report.orphan_events += len(evs)
