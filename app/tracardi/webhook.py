"""Tracardi destination pushes (tracardi-api.md section 8): authentication and body parsing.

0.7-0.8 push the mapped object itself; 0.9/1.x push `{"data": <mapped>, "changes": [...]}`. Map at least
`{"id": "profile@id"}`. Tracardi signs nothing and never retries: protect the endpoint with HTTP Basic or a
secret header (32+ characters), compared in constant time; a proxy in between may also sign the body
(`X-Profile-AI-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>" under the secret>`), which
`WEBHOOK__REQUIRE_SIGNATURE` makes mandatory.

A push only names profiles. Who they are, and which ids were merged into them, comes from Tracardi's own
answer when the profile is read back (app/sync/push.py): ids in the body are never trusted, so a leaked
secret cannot delete, alias or erase anyone Tracardi does not say was merged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Any

from app.errors import DomainError, InvalidRequestError
from profiles.model import HASHED_ID_PREFIXES

SECRET_HEADER = "x-profile-ai-secret"
SIGNATURE_HEADER = "x-profile-ai-signature"
MAX_PUSHES = 1000  # profiles named by one push body (each is read back from Tracardi)
SIGNATURE_TOLERANCE_S = 300  # a signed body older (or newer) than this is a replay


class WebhookAuthError(DomainError):
    status = 401
    code = "unauthorized"


class WebhookDisabledError(DomainError):
    status = 404
    code = "webhook_disabled"


@dataclass(frozen=True)
class Push:
    """A profile Tracardi says changed; nothing else in the body is believed."""

    profile_id: str


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


def sign(body: bytes, secret: str, at: int | None = None) -> str:
    """The signature header's value for `body` (what a signing proxy, and the tests, send)."""
    t = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify_signature(headers: dict[str, str], body: bytes, secret: str, *, now: float | None = None) -> None:
    """Refuse a body whose signature is missing, wrong, or outside SIGNATURE_TOLERANCE_S (a replay)."""
    parts = dict(p.strip().partition("=")[::2] for p in headers.get(SIGNATURE_HEADER, "")[:200].split(","))
    try:
        t = int(parts.get("t", ""))
    except ValueError:
        raise WebhookAuthError("missing or unreadable webhook signature") from None
    if abs((time.time() if now is None else now) - t) > SIGNATURE_TOLERANCE_S:
        raise WebhookAuthError("webhook signature outside the allowed time window")
    expected = sign(body, secret, t).split("v1=", 1)[1]
    if not hmac.compare_digest(parts.get("v1", "").encode(), expected.encode()):
        raise WebhookAuthError("wrong webhook signature")


def parse_push(body: Any) -> list[Push]:
    """One push (or a list of them) -> the profiles to re-sync. `ids` in the body are ignored: merges are
    read from Tracardi's answer."""
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
        if len(pid) > 200 or pid.startswith(HASHED_ID_PREFIXES):
            raise InvalidRequestError("push body's profile id is not a Tracardi profile id")
        out.append(Push(pid))
    if len(out) > MAX_PUSHES:
        raise InvalidRequestError(f"at most {MAX_PUSHES} profiles a push")
    return out
