"""Render the emulator's canonical (1.x-like) documents in the shape each Tracardi version stores.

tracardi-api.md section 9. The emulator keeps one canonical document per profile and shows the version it
was switched to: 0.7 (`traits.private/public`, `pii`, no `ids`, naive times), 0.8.0 (+`ids`), 0.8.1 (free
traits, `data`, `metadata.time.update`, naive times), 0.8.2 (offsets), 0.9 (+`primary_id`), 1.x (+`trash`).
"""

from __future__ import annotations

import copy
from typing import Any

VERSIONS: dict[str, tuple[int, int, int]] = {
    "0.7": (0, 7, 4),
    "0.8.0": (0, 8, 0),
    "0.8.1": (0, 8, 1),
    "0.8.2": (0, 8, 2),
    "0.9": (0, 9, 0),
    "1.x": (1, 0, 0),
}
# What `GET /info/version` answers (LIB tracardi/config.py: VERSION of each branch; 1.x: a 1.0 release)
LABELS: dict[str, str] = {"0.7": "0.7.4", "0.8.0": "0.8.0", "0.8.1": "0.8.1", "0.8.2": "0.8.2", "0.9": "0.9.0-rc5",
                          "1.x": "1.0.0"}


def _naive(value: Any) -> Any:
    if isinstance(value, str) and len(value) >= 19 and value[10:11] == "T":
        return value[:26].split("+")[0].rstrip("Z")
    return value


def _times(time: dict[str, Any], naive: bool, keep: tuple[str, ...]) -> dict[str, Any]:
    out = {k: v for k, v in time.items() if k in keep}
    if naive:
        out = {k: (_naive(v) if not isinstance(v, dict) else {kk: _naive(vv) for kk, vv in v.items()})
               for k, v in out.items()}
    return out


def _data_to_pii(data: dict[str, Any]) -> dict[str, Any]:
    pii = data.get("pii") or {}
    contact = data.get("contact") or {}
    return {
        "name": pii.get("firstname"),
        "surname": pii.get("lastname"),
        "birth_date": pii.get("birthday"),
        "marital_status": (pii.get("civil") or {}).get("status"),
        "email": (contact.get("email") or {}).get("main"),
        "telephone": (contact.get("phone") or {}).get("main"),
        "twitter": (contact.get("app") or {}).get("twitter"),
        "facebook": None,
        "whatsapp": (contact.get("app") or {}).get("whatsapp"),
        "other": {},
    }


def to_canonical(doc: dict[str, Any]) -> dict[str, Any]:
    """Bring an export document of any version into the emulator's canonical 1.x-like layout."""
    out = copy.deepcopy(doc)
    traits = out.get("traits") or {}
    if isinstance(traits, dict) and traits and set(traits) <= {"private", "public"}:
        out["traits"] = {**(traits.get("private") or {}), **(traits.get("public") or {})}
    if "pii" in out and "data" not in out:
        pii = out.pop("pii") or {}
        out["data"] = {
            "pii": {"firstname": pii.get("name"), "lastname": pii.get("surname")},
            "contact": {"email": {"main": pii.get("email")}, "phone": {"main": pii.get("telephone")}},
        }
    out.setdefault("ids", [out["id"]])
    out.setdefault("active", True)
    out.setdefault("metadata", {}).setdefault("time", {})
    return out


def render_profile(doc: dict[str, Any], version: str) -> dict[str, Any]:
    v = VERSIONS[version]
    meta = doc.get("metadata") or {}
    time = meta.get("time") or {}
    naive = v < (0, 8, 2)
    out: dict[str, Any] = {"id": doc["id"]}
    if v < (0, 8, 1):
        keep: tuple[str, ...] = ("insert", "visit") if v < (0, 8, 0) else ("insert", "create", "visit")
        out["metadata"] = {"time": _times(time, naive, keep)}
        if meta.get("merged_with"):
            out["metadata"]["merged_with"] = meta["merged_with"]
        if v >= (0, 8, 0):
            out["ids"] = list(doc.get("ids") or [doc["id"]])
            out["aux"] = doc.get("aux") or {}
            out["metadata"]["aux"] = {}
        out["traits"] = {"private": {}, "public": copy.deepcopy(doc.get("traits") or {})}
        out["pii"] = _data_to_pii(doc.get("data") or {})
    else:
        out["ids"] = list(doc.get("ids") or [doc["id"]])
        out["aux"] = doc.get("aux") or {}
        out["metadata"] = {
            "time": _times(time, naive, ("insert", "create", "update", "segmentation", "visit")),
            "aux": {},
            "status": None,
            "fields": {},
            "system": {"integrations": {}, "aux": {"auto_merge": []}},
        }
        out["traits"] = copy.deepcopy(doc.get("traits") or {})
        out["data"] = copy.deepcopy(doc.get("data") or {})
        if v[:3] == (0, 8, 1):  # contact email/phone are plain strings (LIB tracardi/domain/profile_data.py)
            contact = out["data"].get("contact")
            if isinstance(contact, dict):
                for key in ("email", "phone"):
                    if isinstance(contact.get(key), dict):
                        contact[key] = contact[key].get("main")
    if v >= (0, 9, 0):
        out["primary_id"] = doc.get("primary_id")
    if v >= (1, 0, 0):
        out["trash"] = doc.get("trash") or {}
    out["stats"] = doc.get("stats") or {"visits": 0, "views": 0, "counters": {}}
    out["segments"] = list(doc.get("segments") or [])
    out["interests"] = doc.get("interests") or {}
    out["consents"] = doc.get("consents") or {}
    out["active"] = doc.get("active", True)
    # Unknown fields a deployment added travel as they are.
    for key, value in doc.items():
        if key not in out and key not in ("pii", "data", "primary_id", "trash", "ids", "aux"):
            out[key] = value
    return out


def render_event(doc: dict[str, Any], version: str) -> dict[str, Any]:
    v = VERSIONS[version]
    out = copy.deepcopy(doc)
    if v < (0, 8, 1):
        for key in ("name", "utm", "device", "os", "app", "hit", "journey", "data"):
            out.pop(key, None)
    if v < (0, 8, 2):
        time = (out.get("metadata") or {}).get("time") or {}
        for key in list(time):
            time[key] = _naive(time[key])
    return out
