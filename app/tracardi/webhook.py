"""Tracardi destination pushes (tracardi-api.md section 8): authentication and body parsing.

0.7-0.8 push the mapped object itself; 0.9/1.x push `{"data": <mapped>, "changes": [...]}`. Map at least
`{"id": "profile@id", "ids": "profile@ids"}` so merges are seen. Tracardi signs nothing and never retries:
protect the endpoint with HTTP Basic or a secret header, compared in constant time.
"""

from __future__ import annotations

import base64
import hmac
from dataclasses import dataclass, field
from typing import Any

from app.errors import DomainError, InvalidRequestError
from profiles.model import HASHED_ID_PREFIXES

SECRET_HEADER = "x-profile-ai-secret"


class WebhookAuthError(DomainError):
    status = 401
    code = "unauthorized"


class WebhookDisabledError(DomainError):
    status = 404
    code = "webhook_disabled"


@dataclass(frozen=True)
class Push:
    profile_id: str
    absorbed_ids: list[str] = field(default_factory=list)


def verify(headers: dict[str, str], *, secret: str | None, username: str | None, password: str | None) -> None:
    if not secret and not (username and password):
        raise WebhookDisabledError("the Tracardi webhook is off: set PROFILE_AI_WEBHOOK__SECRET (or a Basic user)")
    if secret:
        given = headers.get(SECRET_HEADER, "")
        if given and hmac.compare_digest(given.encode(), secret.encode()):
            return
    if username and password:
        auth = headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            try:
                user, _, pwd = base64.b64decode(auth[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                user, pwd = "", ""
            ok_user = hmac.compare_digest(user.encode(), username.encode())
            ok_pwd = hmac.compare_digest(pwd.encode(), password.encode())
            if ok_user and ok_pwd:
                return
    raise WebhookAuthError("wrong or missing webhook credentials")


def parse_push(body: Any) -> list[Push]:
    """One push (or a list of them) -> the profiles to re-sync and the ids merged into them."""
    items = body if isinstance(body, list) else [body]
    out: list[Push] = []
    for item in items:
        # 0.9+ wraps the mapped object as {"data": ..., "changes": [...]}; a mapped object may itself hold a
        # `data` key (profile@data), so only both keys together mean the wrapper
        wrapped = isinstance(item, dict) and isinstance(item.get("data"), dict) and "changes" in item
        data = item["data"] if wrapped else item
        if not isinstance(data, dict):
            raise InvalidRequestError("push body must be an object (or {\"data\": object})")
        pid = data.get("id")
        if not pid and isinstance(data.get("profile"), dict):
            pid = data["profile"].get("id")
        if not isinstance(pid, str) or not pid:
            raise InvalidRequestError("push body has no profile id: map {\"id\": \"profile@id\"} in the destination")
        ids_raw = data.get("ids")
        ids: list[Any] = ids_raw if isinstance(ids_raw, list) else []
        absorbed = [i for i in ids if isinstance(i, str) and i != pid and not i.startswith(HASHED_ID_PREFIXES)]
        out.append(Push(pid, absorbed))
    return out
