"""One normalised Profile / Event model over every Tracardi shape from 0.7.x to 1.x.

Tracardi changed its profile document several times (tracardi-api.md section 9): 0.7 keeps traits in
`private`/`public` and personal data in `pii`; 0.8.0 adds `ids`; 0.8.1 makes traits free-form and replaces
`pii` by `data`; 0.9 adds `primary_id`; 1.x adds `trash`. Everything downstream sees only the models here.
Unknown fields are kept in `extra` (never dropped), and a malformed record raises `RecordError` naming the
record and the field, so a caller can report it and go on with the rest of the batch.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

import numpy as np

from profiles.model import Event, Profile
from profiles.paths import MAX_DEPTH, nesting_exceeds

# profile-ai's own write-back events (`/track` with traits for Tracardi): never customer activity, so no
# source (Tracardi or an export of it) lets them into histories, documents, aggregates or predictions.
WRITEBACK_EVENT_TYPE = "profile-ai-traits"
# changes for automations (app/writeback/changes_repository.py), one event per change
CHANGE_EVENT_TYPES = {"segment-entered": "profile-ai-segment-entered", "segment-left": "profile-ai-segment-left",
                      "tier-changed": "profile-ai-tier-changed"}
OWN_EVENT_TYPES = frozenset({WRITEBACK_EVENT_TYPE, *CHANGE_EVENT_TYPES.values()})
# ...and the trait they write (`traits.ai`; `traits.public.ai` on 0.7/0.8.0, flattened below): our own
# predictions, which must never come back as a customer's data (a model would learn from itself).
OWN_TRAIT_KEY = "ai"

_PROFILE_KNOWN = {
    "id", "ids", "primary_id", "active", "metadata", "stats", "traits", "pii", "data", "segments",
    "interests", "consents", "aux", "trash", "_meta", "operation",
}
_EVENT_KNOWN = {
    "id", "type", "name", "metadata", "source", "session", "profile", "properties", "traits", "context",
    "request", "config", "tags", "aux", "utm", "device", "os", "app", "hit", "journey", "data", "_meta",
    "operation",
}


class RecordError(ValueError):
    """A record that cannot be normalised: says which record and which field."""

    def __init__(self, location: str, field: str, message: str) -> None:
        self.location = location
        self.field = field
        self.message = message
        super().__init__(f"{location}: field '{field}': {message}")


def parse_time(value: Any, *, location: str = "record", field: str = "time") -> datetime | None:
    """Read a Tracardi timestamp: ISO 8601 with or without offset (naive = UTC, as before 0.8.2),
    `Z`, or epoch seconds/milliseconds. Returns an aware UTC datetime, or None when absent."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, bool):
        raise RecordError(location, field, f"expected a timestamp, got {value!r}")
    elif isinstance(value, int | float):
        seconds = value / 1000.0 if value > 1e11 else float(value)
        return datetime.fromtimestamp(seconds, tz=UTC)
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise RecordError(location, field, f"not an ISO 8601 timestamp: {value!r}") from None
    else:
        raise RecordError(location, field, f"expected a timestamp, got {type(value).__name__}")
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt if dt.tzinfo is UTC else dt.astimezone(UTC)  # "+00:00" parses to UTC itself: nothing to convert


def _dict(raw: dict[str, Any], key: str, location: str, prefix: str = "") -> dict[str, Any]:
    value = raw.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RecordError(location, prefix + key, f"expected an object, got {type(value).__name__}")
    return value


def _str_or_none(value: Any, location: str, field: str) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str | int) and not isinstance(value, bool):
        return str(value)
    raise RecordError(location, field, f"expected a string, got {type(value).__name__}")


def _int(value: Any, location: str, field: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RecordError(location, field, f"expected a number, got {type(value).__name__}")
    return int(value)


def detect_shape(raw: dict[str, Any]) -> str:
    """Which Tracardi profile shape a document has (section 9 of tracardi-api.md)."""
    traits = raw.get("traits")
    time = (raw.get("metadata") or {}).get("time") or {}
    if "trash" in raw:
        return "1.x"
    if "primary_id" in raw:
        return "0.9"
    if "data" in raw or "update" in time:
        return "0.8.1+"
    if isinstance(traits, dict) and set(traits) <= {"private", "public"} and traits:
        return "0.8.0" if "ids" in raw else "0.7"
    if "pii" in raw:
        return "0.8.0" if "ids" in raw else "0.7"
    return "1.x"


def _pii_to_data(pii: dict[str, Any]) -> dict[str, Any]:
    """Map 0.7/0.8.0 `pii` onto the 0.8.1+ `data` layout."""
    data: dict[str, Any] = {"pii": {}, "contact": {}}
    person = data["pii"]
    contact = data["contact"]
    for src, dst in (("name", "firstname"), ("surname", "lastname"), ("birth_date", "birthday")):
        if pii.get(src) not in (None, ""):
            person[dst] = pii[src]
    if pii.get("marital_status") not in (None, ""):
        person["civil"] = {"status": pii["marital_status"]}
    if pii.get("email"):
        contact["email"] = {"main": pii["email"]}
    if pii.get("telephone"):
        contact["phone"] = {"main": pii["telephone"]}
    apps = {k: pii[k] for k in ("twitter", "facebook", "whatsapp") if pii.get(k)}
    if apps:
        contact["app"] = apps
    if pii.get("other"):
        person["other"] = pii["other"]
    return {k: v for k, v in data.items() if v}


def parse_profile(raw: Any, *, location: str = "profile", shallow: bool = False) -> Profile:
    """Normalise one Tracardi profile document of any version; raises RecordError when malformed. `shallow`:
    the caller saw at most MAX_DEPTH brackets in the record's JSON text (`shallow_text`) or the page it came in
    nests no deeper than allows (`shallow_page`), so its nesting need not be walked."""
    if not isinstance(raw, dict):
        raise RecordError(location, "<record>", f"expected a JSON object, got {type(raw).__name__}")
    if not shallow and nesting_exceeds(raw):
        raise RecordError(location, "<record>", f"nests deeper than {MAX_DEPTH} levels")
    pid = raw.get("id")
    if not isinstance(pid, str) or not pid.strip():
        raise RecordError(location, "id", "missing or not a non-empty string")
    location = f"{location} (id={pid})"
    shape = detect_shape(raw)
    metadata = _dict(raw, "metadata", location)
    time = _dict(metadata, "time", location, "metadata.")
    visit = time.get("visit") if isinstance(time.get("visit"), dict) else {}
    stats = _dict(raw, "stats", location)

    traits = _dict(raw, "traits", location)
    if shape in ("0.7", "0.8.0") and set(traits) <= {"private", "public"}:
        private = traits.get("private") or {}
        public = traits.get("public") or {}
        if not isinstance(private, dict) or not isinstance(public, dict):
            raise RecordError(location, "traits", "private/public must be objects")
        traits = {**private, **public}
    traits = {k: v for k, v in traits.items() if k != OWN_TRAIT_KEY}

    data = _dict(raw, "data", location) if "data" in raw else _pii_to_data(_dict(raw, "pii", location))
    contact = data.get("contact")
    if isinstance(contact, dict):  # 0.8.1 keeps email/phone as plain strings; later {main, business, ...}
        strings = {k: {"main": v} for k in ("email", "phone") if isinstance(v := contact.get(k), str)}
        if strings:
            data = {**data, "contact": {**contact, **strings}}

    ids_raw = raw.get("ids") or []
    if not isinstance(ids_raw, list) or not all(isinstance(i, str) for i in ids_raw):
        raise RecordError(location, "ids", "expected a list of strings")
    segments = raw.get("segments") or []
    if not isinstance(segments, list):
        raise RecordError(location, "segments", "expected a list")
    active = raw.get("active", True)
    if not isinstance(active, bool):
        raise RecordError(location, "active", f"expected true/false, got {active!r}")

    def t(key: str, value: Any) -> datetime | None:
        return parse_time(value, location=location, field=key)

    return Profile(
        id=pid,
        ids=list(dict.fromkeys(ids_raw)),
        primary_id=_str_or_none(raw.get("primary_id"), location, "primary_id"),
        active=active,
        merged_with=_str_or_none(metadata.get("merged_with"), location, "metadata.merged_with"),
        created_at=t("metadata.time.create", time.get("create")),
        inserted_at=t("metadata.time.insert", time.get("insert")),
        updated_at=t("metadata.time.update", time.get("update")),
        last_visit_at=t("metadata.time.visit.last", (visit or {}).get("last")),
        visits=_int(stats.get("visits"), location, "stats.visits"),
        views=_int(stats.get("views"), location, "stats.views"),
        traits=traits,
        data=data,
        segments=[str(s) for s in segments],
        interests=_dict(raw, "interests", location),
        consents=_dict(raw, "consents", location),
        shape=shape,
        extra={k: v for k, v in raw.items() if k not in _PROFILE_KNOWN},
    )


@functools.lru_cache(maxsize=4096)  # a read meets the same few types on every event
def normalise_event_type(value: str) -> str:
    """Tracardi stores event types lower case with spaces turned into dashes."""
    return "-".join(value.strip().lower().split())


def shallow_text(text: bytes) -> bool:
    """Whether a record's JSON text cannot nest deeper than MAX_DEPTH: nesting N levels takes N brackets (ones
    inside strings only add to the count), and counting bytes is C-fast where walking the parsed record is not."""
    return text.count(b"{") + text.count(b"[") <= MAX_DEPTH


_STEP = np.zeros(256, dtype=np.int8)
_STEP[[ord("{"), ord("[")]], _STEP[[ord("}"), ord("]")]] = 1, -1


def json_depth(text: bytes) -> int:
    """How deep valid JSON text nests its objects and arrays (`{}` is 1), read from the bytes in linear time with
    numpy: 90,000 emulator events (38 MB of pages) in 179 ms, where walking the parsed records took 375 ms.
    Brackets inside strings do not count: a quote ends a string
    unless an odd run of backslashes precedes it, and a bracket is inside a string when an odd number of string
    quotes precede it. Text that is not valid JSON gets a number that means nothing (the parser refuses it)."""
    data = np.frombuffer(text, dtype=np.uint8)
    quotes = np.flatnonzero(data == ord('"'))
    slashes = data == ord("\\")
    if quotes.size and slashes.any():
        edge = np.zeros(1, dtype=np.int8)  # int8 throughout: a byte a byte of text, whatever the page's size
        edges = np.diff(np.concatenate((edge, slashes.view(np.int8), edge)))
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)  # runs of backslashes: [start, end)
        escaped = ends[(ends - starts) % 2 == 1]  # a quote right after an odd run is part of its string
        quotes = quotes[~np.isin(quotes, escaped)]
    steps = _STEP[data]
    brackets = np.flatnonzero(steps)
    outside = np.searchsorted(quotes, brackets) % 2 == 0
    depth = np.cumsum(steps[brackets[outside]], dtype=np.int64)
    return int(depth.max()) if depth.size else 0


def shallow_page(text: bytes) -> bool:
    """Whether no record of a page (records inside at least one array) can nest deeper than MAX_DEPTH: a record
    nests at most the page's depth less one."""
    return json_depth(text) <= MAX_DEPTH + 1


def parse_event(raw: Any, *, location: str = "event", shallow: bool = False) -> Event:
    """Normalise one Tracardi event document; raises RecordError when malformed (`shallow`: as parse_profile).
    The hot path of every read: each field is checked inline, and the error's location is only written when
    there is an error."""
    if not isinstance(raw, dict):
        raise RecordError(location, "<record>", f"expected a JSON object, got {type(raw).__name__}")
    if not shallow and nesting_exceeds(raw):
        raise RecordError(location, "<record>", f"nests deeper than {MAX_DEPTH} levels")
    eid = raw.get("id")
    if not isinstance(eid, str) or not eid.strip():
        raise RecordError(location, "id", "missing or not a non-empty string")
    etype = raw.get("type")
    if not isinstance(etype, str) or not etype.strip():
        raise RecordError(_at(location, eid), "type", "missing or not a non-empty string")
    metadata = _object(raw, "metadata", location, eid)
    time = _object(metadata, "time", location, eid, "metadata.")
    when = _time(time.get("insert"), location, eid, "metadata.time.insert") or \
        _time(time.get("create"), location, eid, "metadata.time.create")
    if when is None:
        raise RecordError(_at(location, eid), "metadata.time.insert", "missing: an event needs a time")
    profile = raw.get("profile")
    if profile is not None and not isinstance(profile, dict):
        raise RecordError(_at(location, eid), "profile", "expected an object with an id")
    session = raw.get("session")
    source = raw.get("source")
    tags_raw = raw.get("tags") or {}
    tags = tags_raw.get("values", []) if isinstance(tags_raw, dict) else tags_raw
    if not isinstance(tags, list):
        raise RecordError(_at(location, eid), "tags", "expected a list of values")
    # every field was checked above: construct without validating it all a second time
    return Event.checked(
        id=eid,
        type=normalise_event_type(etype),
        name=_text(raw.get("name"), location, eid, "name"),
        time=when,
        profile_id=_text(profile.get("id"), location, eid, "profile.id") if profile else None,
        session_id=_text(session.get("id"), location, eid, "session.id") if isinstance(session, dict) else None,
        source_id=_text(source.get("id"), location, eid, "source.id") if isinstance(source, dict) else None,
        channel=_text(metadata.get("channel"), location, eid, "metadata.channel"),
        properties=_object(raw, "properties", location, eid),
        traits=_object(raw, "traits", location, eid),
        context=_object(raw, "context", location, eid),
        tags=[x if isinstance(x, str) else str(x) for x in tags],
        utm=_object(raw, "utm", location, eid),
        extra={} if raw.keys() <= _EVENT_KNOWN else {k: v for k, v in raw.items() if k not in _EVENT_KNOWN},
    )


def _at(location: str, eid: str) -> str:
    return f"{location} (id={eid})"


def _object(raw: dict[str, Any], key: str, location: str, eid: str, prefix: str = "") -> dict[str, Any]:
    """`_dict` for an event's fields: the location with the event's id, written only for an error."""
    value = raw.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RecordError(_at(location, eid), prefix + key, f"expected an object, got {type(value).__name__}")
    return value


def _text(value: Any, location: str, eid: str, field: str) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise RecordError(_at(location, eid), field, f"expected a string, got {type(value).__name__}")


def _time(value: Any, location: str, eid: str, field: str) -> datetime | None:
    return None if value is None else parse_time(value, location=_at(location, eid), field=field)


