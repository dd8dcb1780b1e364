"""Every refusal a person can read (the page, the CLI) says what kind it is in the deployment's wording
(issue 34): each error code the services and the guard can answer has a headline in English and Spanish."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

import app.main  # noqa: F401 - loads every module, so every DomainError subclass is known
from app.cli.common import _run
from app.error_words import TITLES, WORDINGS, title
from app.errors import DomainError, NotFoundError


def _subclasses(cls: type[DomainError]) -> list[type[DomainError]]:
    out: list[type[DomainError]] = []
    for sub in cls.__subclasses__():
        out += [sub, *_subclasses(sub)]
    return out


def test_every_error_code_has_a_headline_in_every_wording() -> None:
    codes = {DomainError.code} | {c.code for c in _subclasses(DomainError)}
    guard = (Path(__file__).parents[1] / "app" / "auth" / "guard.py").read_text()
    codes |= set(re.findall(r'reply_error\(send, \d{3}, "([a-z_]+)"', guard))
    codes.add("tracardi")  # app/exception_handlers.py answers Tracardi's failures with this code
    assert len(codes) >= 15
    missing = {code: [w for w in WORDINGS if not TITLES.get(code, {}).get(w)] for code in codes}
    assert not {c: m for c, m in missing.items() if m}
    assert title("not_found", "es") == "no encontrado" and title("no-such-code", "fr") == "something failed"


@pytest.mark.parametrize(("language", "line"), [
    ("es", "error: NotFoundError: no encontrado: segment 'seg-x' not found\n"),
    ("en", "error: NotFoundError: segment 'seg-x' not found\n"),
])
def test_the_cli_names_the_refusal_in_the_deployments_language(language: str, line: str,
                                                                monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    import typer

    monkeypatch.setenv("PROFILE_AI_LANGUAGE", language)

    async def refused() -> None:
        raise NotFoundError("segment 'seg-x' not found")

    with pytest.raises(typer.Exit):
        _run(refused)
    assert capsys.readouterr().err == line


async def test_the_page_reads_the_headlines_without_a_key(tmp_path: Path) -> None:
    from app.config import Settings
    from app.main import create_app

    app_ = create_app(Settings(data_dir=tmp_path / "data"), container=object())  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app_), base_url="http://localhost") as http:
        r = await http.get("/static-words/errors.json")
    assert r.status_code == 200 and r.json()["es"]["sync_running"] == "ya hay una sincronización en curso"
