"""Re-sync the profiles a Tracardi destination push names (the real-time path of the webhook)."""

from __future__ import annotations

from app.sync.service import SyncResult, SyncService
from app.sync.sources import TracardiSource
from app.tracardi.webhook import Push
from profiles.model import Profile, ProfileWithEvents


async def sync_pushed(sync: SyncService, source: TracardiSource, pushes: list[Push]) -> SyncResult:
    """Read each pushed profile back from Tracardi (merges resolved) with its events, embed it, apply the merges
    Tracardi's own answer reports (its `ids`), and remove profiles Tracardi answers 404 for. The push body only
    names profiles: an id it claims was merged is never believed (a leaked secret must not delete or alias a
    customer Tracardi still holds as its own)."""
    client = source.client
    profiles: dict[str, Profile] = {}
    deleted: list[str] = []
    for push in dict.fromkeys(p.profile_id for p in pushes):
        found = await client.get_profile(push)
        if found.profile is None:
            deleted.append(push)
            continue
        profiles[found.profile.id] = found.profile
    events = await client.events_of(list(profiles)) if profiles else {}
    items = [ProfileWithEvents(profile=p, events=events.get(p.id, [])) for p in profiles.values()]
    return await sync.sync_items(items, source.key, deleted=deleted)
