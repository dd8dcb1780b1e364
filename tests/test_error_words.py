"""Every refusal a person can read (the page, the CLI) says what kind it is in the deployment's wording
(issue 34): each error code the services and the guard can answer has a headline in English and Spanish, and
the refusals people meet most are whole sentences in both (a key and parameters, `DomainError.worded`)."""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

import app.main  # noqa: F401 - loads every module, so every DomainError subclass is known
from app.auth.repository import parse_lifetime
from app.cli.common import _run
from app.error_words import SENTENCES, TITLES, WORDINGS, title
from app.errors import DomainError, NotFoundError
from app.insights.budget import fit
from app.jobs.schedules import check_job, next_fire


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


# machine-facing refusals: Tracardi's pushes (read by its operator's logs) and the agents' tools (read by a model)
MACHINE_FACING = {"app/tracardi/webhook.py", "app/agents/tools.py"}


def test_no_service_refusal_is_raised_with_an_english_only_sentence() -> None:
    """A refusal a person reads is raised from a sentence (`.worded`), never from an English literal or another
    exception's English text, so a new one cannot silently stay English in a Spanish deployment."""
    root = Path(__file__).parents[1]
    domain = {DomainError.__name__} | {c.__name__ for c in _subclasses(DomainError)}
    raised = re.compile(r"(?:raise |else |return )(\w+)\((f?[\"']|str\(exc\)|$)")
    found = []
    for path in sorted((root / "app").rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel in MACHINE_FACING:
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            m = raised.search(line)
            if m and m.group(1) in domain:
                found.append(f"{rel}:{n}: {line.strip()}")
    assert not found, "\n".join(found)


def test_the_libraries_refusals_to_train_are_worded_reason_by_reason() -> None:
    """"not enough data to train" was the one refusal a marketer meets first on a young deployment, and it stayed
    English: the library now names its sentence and each reason as a key with parameters."""
    from app.predictions.service import _goal, _not_enough
    from prediction import Goal, InsufficientDataError, train
    from prediction.events import DAY
    from tests.prediction.test_library import T0, synthetic

    with pytest.raises(InsufficientDataError) as tiny:
        train(synthetic(12), Goal.parse("purchase"), 30, purchase_types=["purchase-order"])
    refused = _not_enough(tiny.value)
    assert refused.message == str(tiny.value)  # English as the library says it
    assert refused.sentence("es").startswith("no hay datos suficientes para entrenar purchase: solo 12 perfiles en "
                                             "la instantánea de entrenamiento (hacen falta 50)")
    with pytest.raises(InsufficientDataError) as late:
        train(synthetic(50), Goal.parse("churn"), 30, as_of=T0 + 399 * DAY)
    assert "termina después del último evento" in _not_enough(late.value).sentence("es")
    with pytest.raises(DomainError) as goal:
        _goal("churm")
    assert goal.value.sentence("es").startswith("objetivo desconocido 'churm': usa purchase, churn")


_NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(("call", "spanish"), [
    (lambda: next_fire("every day", _NOW), "la expresión cron 'every day' no se entiende"),
    (lambda: next_fire("0 0 31 2 *", _NOW), "la expresión cron '0 0 31 2 *' nunca se cumple"),
    (lambda: check_job("sync", {"everything": True}), "el trabajo 'sync' admite "),
    (lambda: parse_lifetime("forever"), "la caducidad 'forever' no es una duración como 30m, 12h, 90d u 8w"),
    (lambda: fit({"rows": []}, "rows", 0), "max_tokens debe estar entre 1 y 50000"),
], ids=["cron", "cron never", "job args", "expiry", "budget"])
def test_schedules_keys_and_budgets_refuse_in_spanish(call: Callable[[], object], spanish: str) -> None:
    with pytest.raises(DomainError) as refused:
        call()
    assert refused.value.sentence("es").startswith(spanish)
    assert refused.value.details and refused.value.details["en"] == refused.value.message
