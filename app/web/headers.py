"""Security headers on every answer. The page at `/` holds an API key in the browser, so it gets the strictest
policy: its own script and styles only, no framing, no referrer; the API answers JSON that nothing should run or
frame; /docs runs Swagger UI from the installed `swagger-ui-bundle` package (never a CDN), with the one inline
bootstrap script FastAPI writes."""

from __future__ import annotations

from app.auth.guard import ASGIApp, Message, Receive, Scope, Send, route_path

PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
API_CSP = "default-src 'none'; frame-ancestors 'none'"
COMMON = ((b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
          (b"referrer-policy", b"no-referrer"))


def policy_for(path: str) -> bytes:
    if path.startswith(("/docs", "/redoc")):
        return DOCS_CSP.encode()
    if path == "/" or path.startswith("/static/"):
        return PAGE_CSP.encode()
    return API_CSP.encode()


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        csp = policy_for(route_path(scope))

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers") or []}
                extra = [(k, v) for k, v in (*COMMON, (b"content-security-policy", csp)) if k not in present]
                message["headers"] = [*(message.get("headers") or []), *extra]
            await send(message)

        return await self.app(scope, receive, with_headers)
