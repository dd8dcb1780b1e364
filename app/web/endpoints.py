"""The web page for marketers at `/`: one HTML page, its script and styles, all shipped in the package (no
CDN). It calls the same /v1 API with the user's key, so the key's scopes apply."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, JSONResponse

from app.error_words import by_wording

STATIC = Path(__file__).parent / "static"
router = APIRouter(include_in_schema=False)


@router.get("/")
async def index() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html", headers={"Cache-Control": "no-cache"})


@router.get("/static-words/errors.json")
async def error_words() -> JSONResponse:
    """Error headlines in every wording, from app/error_words.py (the page writes each refusal's kind in the
    language it shows; one table, not a second copy in app.js)."""
    return JSONResponse(by_wording(), headers={"Cache-Control": "no-cache"})
