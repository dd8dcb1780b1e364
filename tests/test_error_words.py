"""Every refusal a person can read (the page, the CLI) says what kind it is in the deployment's wording
(issue 34): each error code the services and the guard can answer has a headline in English and Spanish, and
the refusals people meet most are whole sentences in both (a key and parameters, `DomainError.worded`)."""

from __future__ import annotations

import re
import string
from pathlib import Path

import httpx
import pytest

import app.main  # noqa: F401 - loads every module, so every DomainError subclass is known
from app.cli.common import _run
from app.error_words import SENTENCES, TITLES, WORDINGS, title
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


def _fields(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


def test_every_sentence_is_in_every_wording_with_the_same_parameters() -> None:
    assert len(SENTENCES) >= 8
    for key, words in SENTENCES.items():
        assert set(words) == set(WORDINGS), key
        assert len({frozenset(_fields(t)) for t in words.values()}) == 1, key  # none dropped or added
        assert words["en"] != words["es"], key


def test_a_worded_refusal_is_its_english_sentence_and_carries_the_others() -> None:
    err = NotFoundError.worded("segment_not_found", segment="seg-x")
    assert err.message == str(err) == "segment 'seg-x' not found"  # what logs, tests and agents read, as before
    assert err.sentence("es") == "no existe el segmento 'seg-x'"
    assert err.sentence("fr") == err.message  # a wording without the sentence reads the English one
    assert NotFoundError("plain").sentence("es") == "plain"


PLAIN = NotFoundError("segment 'seg-x' not found")  # a service's own English sentence
WORDED = NotFoundError.worded("segment_not_found", segment="seg-x")  # a sentence in every wording


@pytest.mark.parametrize(("language", "error", "line"), [
    ("es", PLAIN, "error: NotFoundError: no encontrado: segment 'seg-x' not found\n"),
    ("en", PLAIN, "error: NotFoundError: segment 'seg-x' not found\n"),
    ("es", WORDED, "error: NotFoundError: no encontrado: no existe el segmento 'seg-x'\n"),
    ("en", WORDED, "error: NotFoundError: segment 'seg-x' not found\n"),
], ids=["es plain", "en plain", "es worded", "en worded"])
def test_the_cli_says_the_refusal_in_the_deployments_language(language: str, error: NotFoundError, line: str,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    import typer

    monkeypatch.setenv("PROFILE_AI_LANGUAGE", language)

    async def refused() -> None:
        raise error

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



def test_the_cli_tables_have_every_word_in_every_wording() -> None:
    from app.cli.insights import WORDS

    assert set(WORDS) == set(WORDINGS)
    assert len({frozenset(w) for w in WORDS.values()}) == 1  # the same keys
    for key in WORDS["en"]:
        assert len({frozenset(_fields(w[key])) for w in WORDS.values()}) == 1, key  # the same parameters


def test_a_spanish_deployment_reads_its_counts_in_spanish(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.cli import insights

    monkeypatch.setattr(insights, "_wording", lambda: "es")
    assert insights._words()["of"].format(n="196", total="943") == "196 de 943 clientes"
    monkeypatch.setattr(insights, "_wording", lambda: "fr")  # a wording without words reads English
    assert insights._words()["of"].format(n="196", total="943") == "196 of 943 customers"


@pytest.mark.parametrize(("filters", "spanish"), [
    ({"traits.age": {"gte": "soon"}}, "filtro traits.age: 'soon' no es ni un número ni una fecha ISO"),
    ({"bad key!": "x"}, "campo de filtro no válido 'bad key!'"),
    ({"traits.age": {"gte": 1, "lte": "2024-01-01"}}, "filtro traits.age: mezcla números y fechas"),
    ({"traits.age": {"about": 3}}, "filtro traits.age: un rango admite gte/gt/lte/lt (o solo 'not'), no about"),
    ({"traits.plan": {"not": {"x": 1}}}, "filtro traits.plan: 'not' admite un valor o una lista de valores"),
    ("plan=gold", "los filtros deben ser un objeto o una lista de textos 'CLAVE=VALOR'"),
])
def test_a_filter_written_wrong_is_refused_in_both_wordings(filters: object, spanish: str) -> None:
    from app.errors import InvalidRequestError
    from app.search.filters import parse_filters

    with pytest.raises(InvalidRequestError) as refused:
        parse_filters(filters)
    assert refused.value.sentence("es").startswith(spanish) and refused.value.sentence("en") == refused.value.message
