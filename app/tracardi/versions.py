"""One Tracardi version type with capability flags: what each release can and cannot do, read from its source.

Every flag names the file (in github Tracardi/tracardi = LIB, Tracardi/tracardi-api = API) and the ref where
the behaviour was read, so the next engineer can re-check it. The client asks `GET /info/version` (every
version has it, unauthenticated: API `app/api/info_endpoint.py`) and builds one of these; code branches on
flags, never on version strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.tracardi.errors import TracardiError

# The REST bridge every 0.8+ install creates (LIB `tracardi/service/setup/data/defaults.py`, 0.8.0 ... 0.9).
REST_BRIDGE = {"id": "778ded05-4ff3-4e08-9a86-72c0195fa95d", "name": "REST API Bridge"}

SUPPORTED = "0.7 to 1.x"
_VERSION = re.compile(r"^\s*(\d+)\.(\d+)(?:\.(\d+))?")


class TracardiVersionError(TracardiError):
    """The server's version is unknown, unsupported or could not be read."""


class TracardiCapabilityError(TracardiError):
    """The server's version cannot do what was asked (e.g. an event-to-profile mapping on 0.7)."""


@dataclass(frozen=True)
class TracardiVersion:
    major: int
    minor: int
    patch: int
    label: str  # as the server said it, e.g. "0.9.0-rc5"

    @property
    def key(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)

    # ---------------------------------------------------------------- event source (POST /event-source)
    @property
    def bridge_required(self) -> bool:
        """`bridge: NamedEntity` has no default from 0.8.0 (LIB `tracardi/domain/event_source.py`, 0.8.0)."""
        return self.key >= (0, 8, 0)

    @property
    def source_type_is_list(self) -> bool:
        """0.7.4 declares `type: str` (a list is a 422); 0.8.0+ `List[str]` (LIB `domain/event_source.py`)."""
        return self.key >= (0, 8, 0)

    # ---------------------------------------------------------------- write-back
    @property
    def has_mapping_route(self) -> bool:
        """`/event-to-profile` exists from 0.8.0 (API `app/api/event_to_profile.py`; absent at 0.7.4)."""
        return self.key >= (0, 8, 0)

    @property
    def mapping_event_type_is_object(self) -> bool:
        """0.8.0 takes `event_type` as a string, 0.8.1+ as `{id, name}` (LIB `domain/event_to_profile.py`)."""
        return self.key >= (0, 8, 1)

    @property
    def free_traits(self) -> bool:
        """0.7/0.8.0 profiles hold only `traits.private`/`traits.public`; any other key is dropped when the
        profile is rebuilt (LIB `tracardi/domain/profile_traits.py`, 0.8.0). 0.8.1+ traits are free-form."""
        return self.key >= (0, 8, 1)

    @property
    def trait_root(self) -> str:
        """Where profile-ai's object lives in Tracardi's profile."""
        return "traits.ai" if self.free_traits else "traits.public.ai"

    # ---------------------------------------------------------------- reading
    @property
    def has_update_time(self) -> bool:
        """`metadata.time.update` exists from 0.8.1 (LIB `tracardi/domain/time.py`, class `Time`)."""
        return self.key >= (0, 8, 1)

    @property
    def range_filters_update_time(self) -> bool:
        """1.x filters and sorts `/profile/select/range` on update time; 0.7-0.9 on insert time."""
        return self.key >= (1, 0, 0)

    @property
    def has_ids(self) -> bool:
        """Profiles carry `ids` (merged ids) from 0.8.0."""
        return self.key >= (0, 8, 0)

    @property
    def tql_wildcard(self) -> bool:
        """`*` in a TQL string becomes a wildcard query only from 0.8.2
        (LIB `tracardi/process_engine/tql/domain/elastic_condition.py`); before, a term query for the literal."""
        return self.key >= (0, 8, 2)

    @property
    def nested_and(self) -> bool:
        """On <= 0.8.1 `and_expr` flattens its operands with `append_or_value`
        (LIB `tracardi/process_engine/tql/transformer/filter_transformer.py` +
        `tql/utils/value_compressions.py`): an AND operand raises (HTTP 500) and an OR operand is flattened
        into the conjunction. Only from 0.8.2 may an AND hold another AND or an OR."""
        return self.key >= (0, 8, 2)

    @property
    def login_error_is_500(self) -> bool:
        """0.8.1's `/user/token` does not catch `LoginException`: a wrong password is an HTTP 500
        (API `app/api/user_endpoint.py`, 0.8.1, the try/except is commented out)."""
        return self.key[:3] == (0, 8, 1)

    @property
    def destinations_need_flag(self) -> bool:
        """Profile destinations fire only with ENABLE_PROFILE_DESTINATIONS=yes from 0.8.1 (LIB `config.py`)."""
        return self.key >= (0, 8, 1)

    @property
    def push_is_wrapped(self) -> bool:
        """0.9+ destinations send `{"data": mapped, "changes": [...]}`; before, the mapped object itself."""
        return self.key >= (0, 9, 0)

    def __str__(self) -> str:
        return self.label


def parse_version(text: object) -> TracardiVersion:
    """`"0.8.2"`, `"0.9.0-rc5"`, `"1.0.1"` -> a version; anything else is a clear error."""
    if not isinstance(text, str):
        raise TracardiVersionError(f"Tracardi answered {str(text)[:60]!r} for its version, not a version string; "
                                   "is TRACARDI_URL the API (port 8686), not the GUI?")
    m = _VERSION.match(text)
    if m is None:
        raise TracardiVersionError(f"unknown Tracardi version {text[:60]!r}: profile-ai supports {SUPPORTED}; "
                                   "set PROFILE_AI_TRACARDI__VERSION to the release it behaves like")
    major, minor, patch = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    if (major, minor) < (0, 7) or major > 1:
        raise TracardiVersionError(f"Tracardi {text} is not supported (profile-ai supports {SUPPORTED}); "
                                   "set PROFILE_AI_TRACARDI__VERSION to the release it behaves like")
    return TracardiVersion(major, minor, patch, text.strip())
