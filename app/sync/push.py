"""Re-sync the profiles a Tracardi destination push names (the real-time path of the webhook)."""

from __future__ import annotations

from app.sync.service import SyncResult, SyncService
from app.sync.sources import TracardiSource
from app.tracardi.webhook import Push
from profiles.model import Profile, ProfileWithEvents


async def sync_pushed(sync: SyncService, source: TracardiSource, pushes: list[Push]) -> SyncResult:
    """Read each pushed profile (merges resolved) with its events, embed it, apply the merges the push and the
    profile report, and remove profiles Tracardi no longer has."""
    client = source.client
    profiles: list[Profile] = []
    merged: dict[str, str] = {}
    deleted: list[str] = []
    for push in pushes:
        found = await client.get_profile(push.profile_id)
        if found.profile is None:
            deleted.append(push.profile_id)
            continue
        for absorbed in [*push.absorbed_ids, *found.profile.absorbed_ids]:
            merged[absorbed] = found.profile.id
        profiles.append(found.profile)
    events = await client.events_of([p.id for p in profiles]) if profiles else {}
    items = [ProfileWithEvents(profile=p, events=events.get(p.id, [])) for p in profiles]
    return await sync.sync_items(items, source.key, merged, deleted)
