"""Questions asked the way people ask them (issue 36): units converted, synonyms and negation read by meaning with
the deployment's own encoder, every part of a conjunction kept or named as read by meaning only. English with
the English model, Spanish with the multilingual one; no synonym list anywhere."""

from __future__ import annotations

import re
from typing import Any, cast

import pytest

from app.search.understanding import Vocabulary, attach_meaning, build_vocabulary, grouping_field, understand
from app.search.units import FieldUnit, QuestionUnit, convert, field_unit, parse_number

PAY = ["Bank transfer (automatic)", "Credit card (automatic)", "Electronic check", "Mailed check"]
TELCO = [{"traits": {"senior_citizen": i % 2, "partner": (i // 2) % 2, "dependents": (i // 4) % 2,
                     "paperless_billing": (i // 8) % 2, "tenure_months": i * 3 % 72, "monthly_charges": 20.0 + i * 7 % 100,
                     "payment_method": PAY[i % 4], "internet_service": ["DSL", "Fiber optic", "No"][i % 3],
                     "streaming_tv": ["Yes", "No", "No internet service"][i % 3],
                     "streaming_movies": ["No", "Yes", "No internet service"][i % 3], "female": (i // 3) % 2,
                     "contract": ["Month-to-month", "One year", "Two year"][i % 3]}} for i in range(48)]
PAGO = ["Transferencia bancaria (automática)", "Tarjeta de crédito (automática)", "Cheque electrónico",
        "Cheque por correo"]
ES = [{"traits": {"persona_mayor": i % 2, "pareja": (i // 2) % 2, "dependientes": (i // 4) % 2,
                  "factura_sin_papel": (i // 8) % 2, "antiguedad_meses": i * 3 % 72,
                  "cargo_mensual_eur": 20.0 + i * 7 % 100, "metodo_pago": PAGO[i % 4],
                  "servicio_internet": ["DSL", "Fibra óptica", "No"][i % 3],
                  "tv_en_streaming": ["Sí", "No", "Sin servicio de internet"][i % 3],
                  "peliculas_en_streaming": ["No", "Sí", "Sin servicio de internet"][i % 3], "mujer": (i // 3) % 2}}
      for i in range(48)]
HR = [{"traits": {"MonthlyIncome": 2000 + i * 300, "YearsAtCompany": i % 20, "YearsSinceLastPromotion": i % 9,
                  "DistanceFromHome": i % 29, "OverTime": ["Yes", "No"][i % 2], "Age": 20 + i % 40,
                  "BusinessTravel": ["Non-Travel", "Travel_Rarely", "Travel_Frequently"][i % 3]}} for i in range(48)]


@pytest.fixture(scope="module")
def telco(encoder: Any) -> Vocabulary:
    return attach_meaning(build_vocabulary(TELCO), encoder)


@pytest.fixture(scope="module")
def hr(encoder: Any) -> Vocabulary:
    return attach_meaning(build_vocabulary(HR), encoder)


@pytest.fixture(scope="module")
def spanish(e5: Any) -> Vocabulary:
    return attach_meaning(build_vocabulary(ES), e5, ("en", "es"))


def test_units_are_read_from_keys_and_questions() -> None:
    assert field_unit(["tenure", "months"]) == FieldUnit(days=30.4375)
    assert field_unit(["monthly", "charges"]) == FieldUnit(money=True, period=30.4375)
    assert field_unit(["cargo", "mensual", "eur"]).kind == "money"
    assert field_unit(["distance", "from", "home"]).kind == "distance"
    assert parse_number("120 000 a year") == (120000.0, 7) and parse_number("five years") == (5.0, 4)
    assert parse_number("60 k a year")[0] == 60000.0 and parse_number("cinco anos")[0] == 5.0  # type: ignore[index]
    years = QuestionUnit(days=365.25)
    assert convert(5, years, FieldUnit(days=30.4375)) == pytest.approx(60)
    assert convert(5, years, FieldUnit(money=True)) is None  # years are no amount of money
    assert convert(120000, QuestionUnit(money=True, period=365.25), FieldUnit(money=True, period=30.4375)) == \
        pytest.approx(10000)


@pytest.mark.parametrize(("question", "filters"), [
    ("customers who have been with us for more than five years", ["traits.tenure_months>60"]),
    ("customers who joined in the last year", ["traits.tenure_months<=12"]),
    ("customers on a two-year contract who joined less than a year ago",
     ["traits.tenure_months<12", "traits.contract=Two year"]),
    ("customers paying more than 100 a month", ["traits.monthly_charges>100"]),
    ("customers paying less than 30 dollars a month", ["traits.monthly_charges<30"]),
])
def test_units_in_english(telco: Vocabulary, question: str, filters: list[str]) -> None:
    assert understand(question, telco).filters == filters


@pytest.mark.parametrize(("question", "filters"), [
    ("people earning over 120,000 a year", ["traits.MonthlyIncome>10000"]),  # a year against a monthly field
    ("people who have been at the company for more than ten years", ["traits.YearsAtCompany>10"]),
    ("employees not promoted for more than five years", ["traits.YearsSinceLastPromotion>5"]),
    ("people who live more than 20 km from the office", ["traits.DistanceFromHome>20"]),  # not an age
])
def test_which_numeric_field_by_unit_and_meaning(hr: Vocabulary, question: str, filters: list[str]) -> None:
    assert understand(question, hr).filters == filters


@pytest.mark.parametrize(("question", "filters"), [
    ("customers with children", ["traits.dependents=1"]),
    ("elderly customers", ["traits.senior_citizen=1"]),
    ("customers who pay by auto-pay from their bank", ["traits.payment_method=Bank transfer (automatic)"]),
    ("women on fiber", ["traits.female=1", "traits.internet_service=Fiber optic"]),
])
def test_synonyms_by_meaning_in_english(telco: Vocabulary, question: str, filters: list[str]) -> None:
    u = understand(question, telco)
    assert sorted(u.filters) == sorted(filters)
    assert any(r["how"] == "meaning" and 0 < r["similarity"] <= 1 for r in u.read)


@pytest.mark.parametrize(("vocab", "question", "filters"), [
    ("telco", "customers who still get paper bills", ["traits.paperless_billing=0"]),  # what the name denies
    ("telco", "customers who don't stream TV or movies", ["traits.streaming_tv=No", "traits.streaming_movies=No"]),
    ("hr", "employees who never travel", ["traits.BusinessTravel=Non-Travel"]),  # the negation is the value
    ("hr", "employees who do not work overtime", ["traits.OverTime=No"]),
    # the verb of having stands between the negation and what it denies (both had read as having one)
    ("telco", "customers who do not have a partner", ["traits.partner=0"]),
    ("telco", "customers who don't have dependents", ["traits.dependents=0"]),
    ("spanish", "clientes que no tienen pareja", ["traits.pareja=0"]),
])
def test_negation_by_meaning(request: pytest.FixtureRequest, vocab: str, question: str, filters: list[str]) -> None:
    assert understand(question, request.getfixturevalue(vocab)).filters == filters


def test_every_condition_says_where_it_came_from_and_what_was_left_to_meaning(telco: Vocabulary) -> None:
    u = understand("senior citizens on fiber paying over 90 a month who love jazz", telco)
    assert sorted(u.filters) == ["traits.internet_service=Fiber optic", "traits.monthly_charges>90",
                                 "traits.senior_citizen=1"]
    sources = {r["filter"]: (r["from"], r["how"]) for r in u.read}
    assert sources["traits.monthly_charges>90"] == ("over 90 a month", "words")
    assert sources["traits.internet_service=Fiber optic"][1] == "meaning"
    assert u.by_meaning == ["love jazz"]  # the part no condition came from is named, not dropped silently
    assert understand("customers who like jazz", telco).filters == []  # nothing named: meaning only


@pytest.mark.parametrize(("question", "filters"), [
    ("clientes con nosotros desde hace más de cinco años", ["traits.antiguedad_meses>60"]),
    ("clientes que se dieron de alta en el último año", ["traits.antiguedad_meses<=12"]),
    ("clientes que pagan más de 100 euros al mes", ["traits.cargo_mensual_eur>100"]),
    ("clientes que todavía reciben la factura en papel", ["traits.factura_sin_papel=0"]),
    ("clientes que no ven televisión ni películas en streaming",
     ["traits.peliculas_en_streaming=No", "traits.tv_en_streaming=No"]),
    ("clientes que pagan con domiciliación bancaria", ["traits.metodo_pago=Transferencia bancaria (automática)"]),
    ("mujeres con ADSL", ["traits.mujer=1", "traits.servicio_internet=DSL"]),
    # what a negation denies must name the field by itself: "sin hijos" had read as "sin mujer" (0.708, on the
    # shared "sin"), so the partnered customers were counted as men; "hijos" names `dependientes` by its words
    # since (profiles/words.py:SYNONYMS), where e5 read it nearest "pareja"
    ("clientes con pareja pero sin hijos", ["traits.dependientes=0", "traits.pareja=1"]),
    ("clientes sin hijos", ["traits.dependientes=0"]),
])
def test_spanish_units_synonyms_and_negation(spanish: Vocabulary, question: str, filters: list[str]) -> None:
    assert sorted(understand(question, spanish).filters) == sorted(filters)


DATED = [{"traits": {"signup_date": f"2024-{m:02d}-{d:02d}", "plan": ["basic", "pro"][m % 2]}}
         for m in range(1, 13) for d in (1, 15)]
FECHAS = [{"traits": {"fecha_alta": f"2024-{m:02d}-{d:02d}", "tarifa": ["básica", "fibra"][m % 2]}}
          for m in range(1, 13) for d in (1, 15)]


@pytest.mark.parametrize(("question", "filters"), [
    ("customers who joined this year", ["traits.signup_date>=2024-01-01"]),  # the data's clock: its latest date
    ("customers who signed up in the last 3 months", ["traits.signup_date>=2024-09-15"]),
    ("customers who joined before 2024", ["traits.signup_date<2024-01-01"]),
    ("customers who joined in 2024", ["traits.signup_date>=2024-01-01, traits.signup_date<2025-01-01"]),
])
def test_relative_time_against_a_date_field_and_the_datas_clock(encoder: Any, question: str,
                                                                filters: list[str]) -> None:
    assert understand(question, attach_meaning(build_vocabulary(DATED), encoder)).filters == filters


def test_relative_time_in_spanish(e5: Any) -> None:
    vocab = attach_meaning(build_vocabulary(FECHAS), e5, ("en", "es"))
    assert understand("clientes que se dieron de alta este año", vocab).filters == ["traits.fecha_alta>=2024-01-01"]
    assert understand("clientes desde 2024 con fibra", vocab).filters == ["traits.fecha_alta>=2024-01-01",
                                                                         "traits.tarifa=fibra"]


async def test_a_date_filter_is_applied_by_the_index(tmp_path: Any, pg_url: str, encoder: Any) -> None:
    from datetime import UTC, datetime

    from app.config import DatabaseSettings, Settings
    from app.container import Container
    from app.demo.writer import write_export
    from app.search.schemas import SearchRequest
    from bench.campaign import population

    people = population(120, seed=2, start=datetime(2025, 1, 1, tzinfo=UTC))
    for i, p in enumerate(people):
        p["traits"]["signup_date"] = f"{2022 + i % 3}-{1 + i % 12:02d}-01"
    c = await Container.create(Settings(data_dir=tmp_path / "d", database=DatabaseSettings(url=pg_url)),
                               encoder=encoder)
    try:
        await c.sync.run(c.source(str(write_export(tmp_path / "e", people, []))))
        res = await c.search.search(SearchRequest(query="customers who joined this year", limit=20))
        assert res.understood is not None and res.understood["filters"] == ["traits.signup_date>=2024-01-01"]
        assert all(h.traits["signup_date"] >= "2024-01-01" for h in res.results)  # the index applied it
    finally:
        await c.aclose()


JOBS = ["scientist", "entertainment", "student", "programmer", "retired", "engineer", "writer", "educator"]
GENRES = ["Sci-Fi", "Horror", "Comedy", "Drama", "Romance", "Western", "Film-Noir", "Documentary"]
FILM_FANS = [{"data": {"job": {"position": JOBS[i % 8]}}, "traits": {"age": 18 + i % 50},
              "event_types": ["movie-rated"], "top": {"genres": [GENRES[i % 8], GENRES[(i + 3) % 8]]}}
             for i in range(48)]


@pytest.mark.parametrize(("question", "filters"), [
    ("science fiction enthusiasts", []),  # "science" is no scientist
    ("people who watch movies", []),  # nor are movies the entertainment business
    ("horror movie fans", []),
    ("scientists who like horror", ["data.job.position=scientist"]),
    ("programmers into film noir", ["data.job.position=programmer"]),
])
def test_what_the_events_are_about_is_no_trait(encoder: Any, question: str, filters: list[str]) -> None:
    vocab = attach_meaning(build_vocabulary(FILM_FANS), encoder)
    assert "sci fi" in vocab.context and "movie rated" in vocab.context and "genres" in vocab.context
    assert understand(question, vocab).filters == filters


def test_without_what_the_events_are_about_science_reads_as_scientist(encoder: Any) -> None:
    """The case the context entries are for: the same people, their histories unknown to the vocabulary."""
    bare = [{"data": p["data"], "traits": p["traits"]} for p in FILM_FANS]
    vocab = attach_meaning(build_vocabulary(bare), encoder)
    assert vocab.context == []
    assert understand("science fiction enthusiasts", vocab).filters == ["data.job.position=scientist"]


def test_what_the_events_are_about_in_spanish(e5: Any) -> None:
    vocab = attach_meaning(build_vocabulary(FILM_FANS), e5, ("en", "es"))
    assert understand("fans de la ciencia ficción", vocab).filters == []
    # "ciencia" alone reads a little nearer scientist than the compound reads sci fi: the whole name wins
    assert understand("aficionados a la ciencia ficción", vocab).filters == []
    assert understand("estudiantes que ven ciencia ficción", vocab).filters == ["data.job.position=student"]
    assert understand("programadores", vocab).filters == ["data.job.position=programmer"]
    # near "sci fi" too, but nearer engineer: context claims a phrase only where it reads best
    assert understand("ingenieros", vocab).filters == ["data.job.position=engineer"]


@pytest.mark.parametrize(("question", "filters"), [
    ("people older than 40", ["traits.age>40"]),  # not "older" (60+) and a stray 40
    ("students younger than 20", ["traits.age<20", "data.job.position=student"]),
    ("customers 30 years old", ["traits.age>=30, traits.age<=30"]),
    ("people aged 25 to 35", ["traits.age>=25, traits.age<=35"]),
    ("women between 30 and 40", ["traits.age>=30, traits.age<=40"]),
    ("people in their twenties", ["traits.age>=20, traits.age<=29"]),
    ("old people who like comedies", ["traits.age>=60"]),
    ("clientes mayores que 40", ["traits.age>40"]),
    ("personas entre 25 y 35 años", ["traits.age>=25, traits.age<=35"]),
    ("veinteañeros", ["traits.age>=20, traits.age<=29"]),
    ("customers who stopped watching", []),
    ("people who are not over 40", ["traits.age<=40"]),  # a negated comparison is the other side
    ("customers not younger than 25", ["traits.age>=25"]),
    ("clientes que no son mayores de 40", ["traits.age<=40"]),
    ("clientes de más de 50 años", ["traits.age>50"]),  # years, and no duration field: an age
    ("customers over 50 years", ["traits.age>50"]),
    # a decade written apart or in figures (had been a meaning, so an estimate)
    ("clientes que tienen treinta y tantos", ["traits.age>=30, traits.age<=39"]),
    ("customers in their 30s", ["traits.age>=30, traits.age<=39"]),
    ("how many 40-somethings", ["traits.age>=40, traits.age<=49"]),
    ("fans of 90s movies", []),  # a bare decade names films, not ages
])
def test_ages_as_people_ask_for_them(question: str, filters: list[str]) -> None:
    assert understand(question, build_vocabulary(FILM_FANS)).filters == filters


BANDS = ["18-24", "25-34", "35-44", "45-54", "55-64", "65+"]
BANDED = [{"traits": {"age_band": BANDS[i % 6], "plan": ["free", "pro"][i % 2], "monthly_fee": 10.0 + i},
           "data": {"pii": {"gender": ["female", "male"][i % 2]}}} for i in range(60)]
FRANJAS = [{"traits": {"franja_edad": BANDS[i % 5], "pais": ["ES", "MX"][i % 2]}} for i in range(50)]


def test_a_breakdown_by_age_band_lists_every_band_in_order() -> None:
    """"65+" has no value phrase of its own (a bare number): the breakdown had counted it as "other"."""
    assert grouping_field("age band", build_vocabulary(BANDED)) == ("traits.age_band", BANDS)


@pytest.mark.parametrize(("rows", "question", "filters", "partly"), [
    (BANDED, "customers over 40", ["traits.age_band=45-54,55-64,65+"], ["35-44"]),  # 41-44 is under half of 35-44
    (BANDED, "customers over 30", ["traits.age_band=35-44,45-54,55-64,65+"], ["25-34"]),
    (BANDED, "customers over 28", ["traits.age_band=25-34,35-44,45-54,55-64,65+"], ["25-34"]),  # 29-34: most of it
    (BANDED, "customers 45 or older", ["traits.age_band=45-54,55-64,65+"], []),
    (BANDED, "people younger than 25", ["traits.age_band=18-24"], []),
    (BANDED, "pro customers aged between 25 and 44", ["traits.age_band=25-34,35-44", "traits.plan=pro"], []),
    (BANDED, "customers aged 25 to 34", ["traits.age_band=25-34"], []),  # the band itself, as before
    (BANDED, "customers not over 54", ["traits.age_band=18-24,25-34,35-44,45-54"], []),
    (BANDED, "customers paying over 40 a month", ["traits.monthly_fee>40"], []),  # a fee, not an age
    (FRANJAS, "clientes de más de 40 años", ["traits.franja_edad=45-54,55-64"], ["35-44"]),
    (FRANJAS, "clientes mayores de 44 de México", ["traits.franja_edad=45-54,55-64", "traits.pais=MX"], []),
    (FRANJAS, "clientes que tienen menos de 35 años", ["traits.franja_edad=18-24,25-34"], []),
    # relative words: "young" is 30 and under, "seniors" 60 and over
    (BANDED, "young customers on the pro plan", ["traits.age_band=18-24,25-34", "traits.plan=pro"], ["25-34"]),
    (FRANJAS, "clientes jóvenes de México", ["traits.franja_edad=18-24,25-34", "traits.pais=MX"], ["25-34"]),
])
def test_ages_asked_of_data_that_holds_age_bands(rows: list[dict[str, Any]], question: str, filters: list[str],
                                                 partly: list[str]) -> None:
    """Where the data holds age bands ("25-34", "65+") and no age, "over 40" takes the bands mostly over 40 (it
    had been left to the meaning: 22 of 270 on the benchmark shop, an estimate) and says which band it cut."""
    u = understand(question, build_vocabulary(rows))
    assert u.filters == filters
    assert [b for a in u.approximate() for b in a["partly"]] == partly


@pytest.mark.parametrize(("vocab", "question", "filters"), [
    ("telco", "customers with tenure between 12 and 24 months", ["traits.tenure_months>=12, traits.tenure_months<=24"]),
    ("telco", "customers from 1 to 2 years", ["traits.tenure_months>=12, traits.tenure_months<=24"]),  # converted
    ("telco", "paying between 50 and 80 a month", ["traits.monthly_charges>=50, traits.monthly_charges<=80"]),
    ("hr", "between 2 and 5 years at the company", ["traits.YearsAtCompany>=2, traits.YearsAtCompany<=5"]),
    ("hr", "employees older than 50", ["traits.Age>50"]),
])
def test_ranges_find_their_field_by_unit_and_meaning(request: pytest.FixtureRequest, vocab: str, question: str,
                                                     filters: list[str]) -> None:
    assert understand(question, request.getfixturevalue(vocab)).filters == filters


JOBS_ES = ["científico", "espectáculos", "estudiante", "programador", "jubilado", "ingeniero", "escritor", "docente",
           "artista", "abogado"]
FANS_ES = [{"data": {"job": {"position": JOBS_ES[i % 10]}, "pii": {"gender": ["mujer", "hombre"][i % 2]}},
            "traits": {"edad": 18 + i % 50}, "event_types": ["movie-rated"],
            "top": {"genres": [["Ciencia ficción", "Terror", "Comedia", "Drama"][i % 4]]}} for i in range(60)]


@pytest.mark.parametrize(("question", "filters"), [
    # English words against Spanish values: E5 reads both sides of a phrase match as queries (its authors'
    # advice for symmetric tasks); as passages "women" / "mujer" scored 0.22 (centred), under every bar
    ("how many women", ["data.pii.gender=mujer"]),
    ("students", ["data.job.position=estudiante"]),
    ("writers", ["data.job.position=escritor"]),
    ("artists over 30", ["traits.edad>30", "data.job.position=artista"]),
    ("men who are lawyers", ["data.job.position=abogado", "data.pii.gender=hombre"]),
    ("science fiction fans", []),  # the genre, not the scientists
    # and Spanish ones, with the verb after the negation
    ("mujeres que no son estudiantes", ["data.job.position!=estudiante", "data.pii.gender=mujer"]),
    ("programadores", ["data.job.position=programador"]),
])
def test_spanish_values_read_from_either_language(e5: Any, question: str, filters: list[str]) -> None:
    vocab = attach_meaning(build_vocabulary(FANS_ES), e5, ("en", "es"))
    assert sorted(understand(question, vocab).filters) == sorted(filters)


@pytest.mark.parametrize(("question", "filters"), [
    ("estudiantes", ["data.job.position=student"]),  # under the bar as passages (issue 34's note)
    ("escritores", ["data.job.position=writer"]),
    ("científicos", ["data.job.position=scientist"]),
    ("mujeres que no son estudiantes", ["data.job.position!=student"]),
])
def test_english_values_read_from_spanish_words(e5: Any, question: str, filters: list[str]) -> None:
    vocab = attach_meaning(build_vocabulary(FILM_FANS), e5, ("en", "es"))
    assert understand(question, vocab).filters == filters


def test_a_false_friend_across_languages_is_no_value(e5: Any) -> None:
    """"documentales" is near "doctor" by its letters only (0.228 against a line of 0.210 at 3.5 sd): English data
    asked in Spanish lost 0.04 of P@10 to that filter (bench/multilingual_quality.py) until E5's line moved to
    4.0 sd. Documentaries are rare here, so no context entry competes for the word."""
    people = [{"data": {"job": {"position": ["doctor", "student", "programmer", "writer"][i % 4]}},
               "event_types": ["movie-rated"], "top": {"genres": [["Drama", "Comedy", "Action"][i % 3]]}}
              for i in range(40)]
    vocab = attach_meaning(build_vocabulary(people), e5, ("en", "es"))
    assert understand("personas a las que les encantan los documentales", vocab).filters == []
    assert understand("médicos", vocab).filters == ["data.job.position=doctor"]


RATERS = [{"data": {"job": {"position": ["programmer", "engineer", "artist", "student"][i % 4]},
                    "pii": {"gender": ["female", "male"][i % 2]}},
           "traits": {"age": 18 + i % 50}, "event_types": ["content-rated"], "event_count": 5 + i * 7,
           "counts": {"content-rated": 5 + i * 7}} for i in range(40)]


def _labels(etype: str) -> list[str]:
    from profiles.dictionary import EventDictionary

    return [d.spec(etype).label for d in (EventDictionary.load(None, "en"), EventDictionary.load(None, "es"))]


@pytest.mark.parametrize(("question", "filters"), [
    # a number that counts something is no age ("100 movies" had read as age > 100)
    ("customers who rated more than 100 movies", ["counts.content-rated>100"]),
    ("users who rated at least 50 movies", ["counts.content-rated>=50"]),  # "at least" includes the bound
    ("people who rated 200 or more films", ["counts.content-rated>=200"]),
    ("customers with more than 300 events", ["event_count>300"]),
    ("customers over 60", ["traits.age>60"]),  # a bare number in the range of ages still is one
    ("men aged 40 or more", ["traits.age>=40", "data.pii.gender=male"]),  # "aged" names age, not "men"
    ("at least 45 years old", ["traits.age>=45"]),
    ("women at most 30", ["traits.age<=30", "data.pii.gender=female"]),
    # one field, either value
    ("women who are programmers or engineers", ["data.job.position=programmer,engineer", "data.pii.gender=female"]),
    ("not programmers or engineers", ["data.job.position!=programmer,engineer"]),
    ("students and artists", ["data.job.position=student,artist"]),
    ("programmers, engineers or artists", ["data.job.position=programmer,engineer,artist"]),  # a list's commas
    ("customers who gave an average rating above 4", ["rating_mean>4"]),  # "average" does not name age
    ("students who spent more than 100 dollars", ["spend_total>100", "data.job.position=student"]),
    ("customers aged 25-34", ["traits.age>=25, traits.age<=34"]),  # the dash is gone once words are read
    # what a range counts is read with it ("movies" had been left a meaning, and the count an estimate)
    ("customers who rated between 50 and 100 movies", ["counts.content-rated>=50, counts.content-rated<=100"]),
    # "aged" names age itself, whatever follows (it had read the range as a count of ratings)
    ("people aged 18-24 who rated fewer than 25 movies", ["traits.age>=18, traits.age<=24", "counts.content-rated<25"]),
    ("people aged 18 to 24 years", ["traits.age>=18, traits.age<=24"]),
    # an exact number: "exactly 20" had been left to the meaning, "aged 30" too
    ("customers who rated exactly 20 movies", ["counts.content-rated>=20, counts.content-rated<=20"]),
    ("people aged 30", ["traits.age>=30, traits.age<=30"]),
    ("women aged 30 or more", ["traits.age>=30", "data.pii.gender=female"]),
    # negations of more than one word, and "neither" ("other than programmers" had read as programmers)
    ("customers other than programmers", ["data.job.position!=programmer"]),
    ("women apart from students", ["data.job.position!=student", "data.pii.gender=female"]),
    ("people who are neither students nor artists", ["data.job.position!=student,artist"]),
])
def test_counts_bounds_and_either_value(encoder: Any, question: str, filters: list[str]) -> None:
    vocab = attach_meaning(build_vocabulary(RATERS), encoder, ("en",), _labels)
    assert vocab.event_counts == {"content rated": "counts.content-rated"}
    got = understand(question, vocab)
    assert sorted(got.filters) == sorted(filters)
    if "movies" in question or "films" in question:
        assert "movies" not in got.semantic and "films" not in got.semantic


@pytest.mark.parametrize(("question", "filters"), [
    ("clientes que valoraron más de 100 películas", ["counts.content-rated>100"]),  # the dictionary's "valoraciones"
    ("personas con al menos 200 valoraciones", ["counts.content-rated>=200"]),
    ("mujeres de 40 años o más", ["traits.age>=40", "data.pii.gender=female"]),
    ("programadores o ingenieros", ["data.job.position=programmer,engineer"]),
    # of people "mayores de 30" is an age, and a number before ends its comparison's words (they had read
    # `counts>30` and `age<50`)
    ("clientes mayores de 30 que valoraron menos de 50 películas", ["traits.age>30", "counts.content-rated<50"]),
    # the words that name a count by meaning start after the clause word: the engineers had been read with the
    # count and dropped
    ("ingenieros que valoraron más de 100 películas", ["counts.content-rated>100", "data.job.position=engineer"]),
    # and a count is named by its verb alone, with no clause word before it
    ("¿cuántos ingenieros valoraron menos de 30 películas?", ["counts.content-rated<30",
                                                              "data.job.position=engineer"]),
    # "superior a" / "inferior a" compare as "más de" / "menos de"; "exactamente" and "de 30 años" are exact
    ("clientes con una valoración media superior a 4", ["rating_mean>4"]),
    ("valoración media inferior a 3", ["rating_mean<3"]),
    ("clientes que valoraron exactamente 20 películas", ["counts.content-rated>=20, counts.content-rated<=20"]),
    ("¿cuántas personas de 30 años?", ["traits.age>=30, traits.age<=30"]),
    ("mujeres de más de 60 años", ["traits.age>60", "data.pii.gender=female"]),
    ("clientes distintos de los programadores", ["data.job.position!=programmer"]),
    # two conditions side by side are not one phrase: "hombres ingenieros" had read as engineer alone (the pair
    # scored as "ingenieros" does, and the longer phrase's bonus took the men with it)
    ("hombres ingenieros", ["data.pii.gender=male", "data.job.position=engineer"]),
    ("¿cuántos ingenieros hombres hay?", ["data.pii.gender=male", "data.job.position=engineer"]),
])
def test_counts_bounds_and_either_value_in_spanish(e5: Any, question: str, filters: list[str]) -> None:
    vocab = attach_meaning(build_vocabulary(RATERS), e5, ("en", "es"), _labels)
    assert sorted(understand(question, vocab).filters) == sorted(filters)


def test_event_types_a_question_can_count_are_bounded() -> None:
    """Anyone can send an event of a new type: only the commonest become countable fields, and only those an
    index path can name as they are."""
    from app.search.understanding import EVENT_COUNTS

    many = [{"counts": {f"type-{i}": 1 for i in range(j, j + 40)} | {"bad.type": 1, "with space": 2}}
            for j in range(5)]
    vocab = build_vocabulary(many)
    assert len(vocab.event_counts) == EVENT_COUNTS
    assert all(p.startswith("counts.type-") for p in vocab.event_counts.values())


ACTIVE = [{"data": {"job": {"position": ["student", "writer"][i % 2]}}, "traits": {"age": 20 + i},
           "last_seen": f"2024-06-{1 + i % 28:02d}T10:00:00+00:00", "first_seen": f"202{i % 4}-03-01T10:00:00+00:00",
           "counts": {"page-view": 1 + i}}
          for i in range(40)]


@pytest.mark.parametrize(("question", "filters"), [
    # the activity dates every profile has, against the data's own clock (its latest last_seen: 2024-06-28)
    ("people who were active in the last month", ["last_seen>=2024-05-29"]),
    ("customers who have not been active in the last 2 weeks", ["last_seen<2024-06-14"]),  # before, or never
    ("students active in the last 2 weeks", ["last_seen>=2024-06-14", "data.job.position=student"]),
    ("customers who joined this year", ["first_seen>=2024-01-01"]),  # this year is the last activity's
    ("customers who signed up in 2022", ["first_seen>=2022-01-01, first_seen<2023-01-01"]),  # had read last_seen
    ("¿cuántos clientes se registraron en 2022?", ["first_seen>=2022-01-01, first_seen<2023-01-01"]),
    ("clientes que se dieron de alta en 2022", ["first_seen>=2022-01-01, first_seen<2023-01-01"]),
    # no window said: the same 90 days as "inactive" ("active customers" had been a meaning)
    ("active customers", ["last_seen>=2024-03-30"]),
    ("customers who are not active", ["last_seen<2024-03-30"]),
    ("clientes activos", ["last_seen>=2024-03-30"]),
    # a time with nothing that names a date is the activity's (it had read as first_seen by a near miss), and the
    # events counted before it are those in it (it had been 10 page views ever AND active in the last month)
    ("customers with more than 10 page views in the last month", ["events.page-view since 2024-05-29: 11 or more"]),
    ("clientes que no han estado activos en el último mes", ["last_seen<2024-05-29"]),
    # "no han tenido actividad" had read as activity in the window (the participle stood between the negation and
    # what it denies), and "activity" was left over as a meaning
    ("clientes que no han tenido actividad en el último mes", ["last_seen<2024-05-29"]),
    ("¿cuántos clientes se dieron de alta en 2022?", ["first_seen>=2022-01-01, first_seen<2023-01-01"]),
    ("clientes que no tuvieron actividad en el último mes", ["last_seen<2024-05-29"]),
    ("clientes que han tenido actividad en el último mes", ["last_seen>=2024-05-29"]),
    ("customers with activity in the last month", ["last_seen>=2024-05-29"]),
    ("customers who had no activity in the last month", ["last_seen<2024-05-29"]),
    # "new customers" are first seen in the window (it had been last_seen and "new customers" a meaning), or, no
    # window said, in the 30 days before the clock
    ("how many new customers this year?", ["first_seen>=2024-01-01"]),
    ("¿cuántos clientes nuevos este año?", ["first_seen>=2024-01-01"]),
    ("how many new customers do we have?", ["first_seen>=2024-05-29"]),
    ("how many users are new this year?", ["first_seen>=2024-01-01"]),
    ("nuevos clientes estudiantes", ["first_seen>=2024-05-29", "data.job.position=student"]),
    # "since March" is from its first day on, "before June" up to it (they had been a meaning)
    ("customers who joined since March", ["first_seen>=2024-03-01"]),
    ("customers who have not been active since March", ["last_seen<2024-03-01"]),
    ("¿cuántos clientes no han vuelto desde enero?", ["last_seen<2024-01-01"]),
    ("clientes que se registraron antes de junio", ["first_seen<2024-06-01"]),
    # inactive for a while: no activity in it (the while had been left to the meaning)
    ("customers inactive for 3 months", ["last_seen<2024-03-29"]),
    ("clientes inactivos desde hace 3 meses", ["last_seen<2024-03-29"]),
    ("clientes que llevan más de 3 meses sin actividad", ["last_seen<2024-03-29"]),
    # not come back for a while (it had been the opposite, last seen within it, or nothing)
    ("customers who haven't come back in 3 months", ["last_seen<2024-03-29"]),
    ("clientes que no han vuelto desde hace 3 meses", ["last_seen<2024-03-29"]),
])
def test_activity_dates(encoder: Any, question: str, filters: list[str]) -> None:
    u = understand(question, attach_meaning(build_vocabulary(ACTIVE), encoder))
    assert sorted(u.filters) == sorted(filters)
    # the words that named the date are read
    assert not {"active", "activos", "joined", "signed", "registraron", "dieron", "activity", "actividad", "tenido",
                "tuvieron", "no", "se", "new", "nuevos", "since", "desde", "vuelto"} & set(u.semantic.split())


def test_a_field_of_the_datas_own_named_active_is_what_active_means(encoder: Any) -> None:
    flagged: list[dict[str, Any]] = [dict(p) for p in ACTIVE]
    for i, p in enumerate(flagged):
        p["traits"] = {**p["traits"], "active": i % 2 == 0}
    assert understand("active customers", attach_meaning(build_vocabulary(flagged), encoder)).filters == \
        ["traits.active=True"]


def test_traits_only_data_has_no_activity_to_ask_about(encoder: Any) -> None:
    """Profiles without events still carry first_seen / last_seen (when the profile was made): "joined in the last
    year" is the tenure trait there, as before activity dates were fields (bench/understanding_questions.py had
    lost 0.9 of P@10 on that question), and "children" keeps `dependents`."""
    stamped = [p | {"first_seen": "2023-01-01T00:00:00+00:00", "last_seen": "2023-01-01T00:00:00+00:00"}
               for p in TELCO]
    vocab = attach_meaning(build_vocabulary(stamped), encoder)
    assert vocab.dates == {}
    assert understand("customers who joined in the last year", vocab).filters == ["traits.tenure_months<=12"]
    assert understand("customers with children", vocab).filters == ["traits.dependents=1"]


@pytest.mark.parametrize(("question", "rest", "phrase"), [
    ("how many customers by gender", "how many customers", "gender"),
    ("number of students per occupation?", "number of students", "occupation"),
    ("¿cuántos clientes hay por género?", "cuantos clientes hay", "genero"),
    ("customers broken down by their job", "customers", "job"),
    ("customers who go by bike", "customers who go", "bike"),  # split here, but no field: kept whole below
    # which value has the most: the count by that field, largest first
    ("which occupation has the most women?", "women", "occupation"),
    ("¿qué ocupación tiene más clientes?", "clientes", "ocupacion"),
    # "de cada" / "in each" within the question: the rest is the group counted in each
    ("¿cuántos clientes de cada país compraron zapatos?", "cuantos clientes compraron zapatos", "pais"),
    ("customers in each country who bought shoes", "customers who bought shoes", "country"),
])
def test_a_count_broken_down_by_a_field_is_split_off(question: str, rest: str, phrase: str) -> None:
    from app.search.understanding import split_grouping

    assert split_grouping(question) == (rest, phrase)


@pytest.mark.parametrize(("phrase", "path"), [
    ("gender", "data.pii.gender"), ("sex", "data.pii.gender"), ("job", "data.job.position"),
    ("occupation", "data.job.position"), ("profession", "data.job.position"),
    ("bike", None), ("country", None),  # nothing
    ("age group", "traits.age"), ("age", "traits.age"),  # a number: bins of its range
    # Spanish words for Tracardi's English field names (profiles/words.py SPANISH_FIELD_WORDS): by meaning
    # alone "ocupacion" scored 0.148 against "job position", under the chance line (0.277, e5)
    ("ocupacion", "data.job.position"), ("profesion", "data.job.position"), ("trabajo", "data.job.position"),
    ("sexo", "data.pii.gender"),
])
def test_the_field_a_count_is_broken_down_by(encoder: Any, phrase: str, path: str | None) -> None:
    from app.search.understanding import grouping_field

    people = [{"data": {"job": {"position": ["programmer", "engineer", "artist", "student"][i % 4]},
                        "pii": {"gender": ["female", "male"][i % 2]}}, "traits": {"age": 18 + i}} for i in range(40)]
    found = grouping_field(phrase, attach_meaning(build_vocabulary(people), encoder))
    assert (found[0] if found else None) == path
    if found and path == "traits.age":  # ages 18-57: by tens, from the ten below the youngest
        assert [b["label"] for b in found[1]] == ["10-19", "20-29", "30-39", "40-49", "50-59"]
    elif found:
        assert len(found[1]) == (2 if path == "data.pii.gender" else 4)


def test_paying_by_a_value_is_no_breakdown(encoder: Any) -> None:
    """"by credit card" names a value (a filter), not a field to count by."""
    import threading

    from app.search.service import SearchService

    service = SearchService.__new__(SearchService)  # the vocabulary given, no index behind it
    service._warming, service._vocab = threading.Lock(), attach_meaning(build_vocabulary(TELCO), encoder)
    assert service.grouping("customers who pay by credit card") == ("customers who pay by credit card", None)
    rest, by = service.grouping("how many customers by contract")
    assert rest == "how many customers" and by is not None and by[0] == "traits.contract"


def test_the_datas_own_fields_keep_their_indexes_before_event_counts() -> None:
    """Payload indexes are capped (64): event counts and activity dates come after the data's own fields."""
    people = [{"traits": {f"t{k:02d}": ["alpha", "beta"][(i + k) % 2] for k in range(64)},
               "counts": {"page-view": i + 1}, "last_seen": f"2024-06-{1 + i % 28:02d}T10:00:00+00:00"}
              for i in range(20)]
    kinds = build_vocabulary(people).field_kinds()
    assert len(kinds) == 64 and all(path.startswith("traits.") for path in kinds)
    assert "counts.page-view" in build_vocabulary(people).field_kinds(limit=66)


SHOPPERS = [{"data": {"job": {"position": ["programmer", "engineer", "artist", "student"][i % 4]},
                      "pii": {"gender": ["female", "male"][i % 2]}},
             "traits": {"age": 18 + i % 50}, "event_types": ["content-rated", "purchase-order"][:1 + i % 2],
             "counts": {"content-rated": 5 + i, **({"purchase-order": 1 + i % 4} if i % 2 else {})},
             "top": {"genres": [["Horror", "Comedy", "Drama"][i % 3]]}} for i in range(40)]


@pytest.mark.parametrize(("question", "filters"), [
    # no events of a type: a count below 1, which the index also meets where the profile has no such key
    ("customers who never rated a movie", ["counts.content-rated<1"]),
    ("women who did not rate any movies", ["counts.content-rated<1", "data.pii.gender=female"]),
    ("people with no purchases", ["counts.purchase-order<1"]),
    # the verb itself: "purchased" resembles the purchases as the filler "buy" does, which had barred it
    ("customers who never purchased", ["counts.purchase-order<1"]),
    # which events, not whether there were any: "horror" is what the events are about
    ("people who never watch horror", []),
    ("men who are not programmers", ["data.job.position!=programmer", "data.pii.gender=male"]),  # values first
])
def test_none_of_an_event_type(encoder: Any, question: str, filters: list[str]) -> None:
    vocab = attach_meaning(build_vocabulary(SHOPPERS), encoder, ("en",), _labels)
    got = understand(question, vocab)
    assert sorted(got.filters) == sorted(filters)
    if filters:
        assert "did" not in got.semantic.split()  # the auxiliary is read with the negation


@pytest.mark.parametrize(("question", "filters"), [
    ("clientes que nunca han valorado una película", ["counts.content-rated<1"]),
    ("mujeres sin compras", ["counts.purchase-order<1", "data.pii.gender=female"]),
])
def test_none_of_an_event_type_in_spanish(e5: Any, question: str, filters: list[str]) -> None:
    vocab = attach_meaning(build_vocabulary(SHOPPERS), e5, ("en", "es"), _labels)
    assert sorted(understand(question, vocab).filters) == sorted(filters)


def test_a_spanish_auxiliary_names_no_value(e5: Any) -> None:
    """"nunca han" read as "no hombre" (0.281, over the line, on MovieLens in Spanish): "han", "hay", "fueron" ...
    are fillers now, so no phrase read by meaning ends with one."""
    from app.search.meaning_match import candidate_spans

    q = "clientes que nunca han valorado una comedia"
    words = [(m.start(), m.end(), m.group()) for m in re.finditer(r"\S+", q)]
    assert "nunca han" not in {text for _, _, text in candidate_spans(words)}
    raters = [{**p, "event_types": ["content-rated"], "counts": {"content-rated": 5 + i}}
              for i, p in enumerate(FANS_ES)]
    vocab = attach_meaning(build_vocabulary(raters), e5, ("en", "es"), _labels)
    # which films, not whether there were any: no rating of a comedy, from the event log (everyone else), and no
    # condition read from the auxiliary
    u = understand("clientes que nunca han valorado una comedia", vocab)
    assert u.filters == ["events.content-rated about Comedia: none"] and u.conditions == []
    assert u.events()[0].denied and u.events()[0].values == ["Comedia"]


# Tracardi's own profile data (0.9.0-dev tracardi/domain/profile_data.py): nested fields whose last key says
# little alone ("size", "status", "level")
TRACARDI_SHAPED = [{"data": {"pii": {"gender": ["female", "male"][i % 2],
                                     "civil": {"status": ["married", "single", "divorced"][i % 3]}},
                             "job": {"position": ["engineer", "doctor", "teacher", "sales"][i % 4],
                                     "company": {"size": [10, 50, 250, 1000][i % 4]}},
                             "contact": {"address": {"town": ["Madrid", "Barcelona", "Valencia"][i % 3]}}},
                    "traits": {"age": 20 + i % 50}, "event_types": ["page-view", "purchase-order"],
                    "counts": {"page-view": 3 + i, "purchase-order": i % 4}} for i in range(60)]


@pytest.mark.parametrize(("question", "filters"), [
    # "100 employees" had read as an age over 100: a headcount after the number is never one
    ("customers at companies with more than 100 employees", ["data.job.company.size>100"]),
    ("married customers", ["data.pii.civil.status=married"]),
    ("customers over 60", ["traits.age>60"]),
    ("how many over-40 customers", ["traits.age>40"]),  # the people asked about are no headcount
    # living somewhere, denied ("don't live in Madrid" had read as living there), and a denial that ends in
    # "anything" (its vip-like leftovers had been read by meaning)
    ("customers who don't live in Madrid", ["data.contact.address.town!=Madrid"]),
    ("customers outside Madrid", ["data.contact.address.town!=Madrid"]),
    ("customers who haven't bought anything", ["counts.purchase-order<1"]),
])
def test_a_vague_last_key_is_read_with_its_parent(encoder: Any, question: str, filters: list[str]) -> None:
    got = understand(question, attach_meaning(build_vocabulary(TRACARDI_SHAPED), encoder, ("en",), _labels))
    assert got.filters == filters
    assert "employees" not in got.semantic.split()  # read with the number it counts


def test_a_fields_name_alone_names_none_of_its_values(encoder: Any) -> None:
    """"customers by civil status" had read as `civil.status=single` (0.857: "civil status" against the entry
    "civil status single"), so the count was not broken down but filtered."""
    from app.search.understanding import grouping_field

    vocab = attach_meaning(build_vocabulary(TRACARDI_SHAPED), encoder)
    assert understand("civil status", vocab).filters == []
    found = grouping_field("civil status", vocab)
    assert found is not None and found[0] == "data.pii.civil.status"


def test_a_vague_last_key_in_spanish(e5: Any) -> None:
    from app.search.understanding import field_words

    vocab = attach_meaning(build_vocabulary(TRACARDI_SHAPED), e5, ("en", "es"), _labels)
    assert understand("clientes de empresas de más de 100 empleados", vocab).filters == ["data.job.company.size>100"]
    assert understand("clientes que no viven en Madrid", vocab).filters == ["data.contact.address.town!=Madrid"]
    assert understand("clientes de fuera de Madrid", vocab).filters == ["data.contact.address.town!=Madrid"]
    assert understand("clientes que no han comprado nada", vocab).filters == ["counts.purchase-order<1"]
    assert {"company", "companies", "empresas", "size"} <= field_words("data.job.company.size")


@pytest.mark.parametrize(("low", "high", "whole", "labels"), [
    (7, 73, True, ["0-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "70-79"]),
    (1, 4, True, ["1", "2", "3", "4"]),  # a step of one: the value itself
    (18.25, 118.75, False, [f"{a}-{a + 10}" for a in range(10, 120, 10)]),
    (5, 5, True, ["5"]),
])
def test_a_numeric_field_is_broken_down_by_equal_steps_of_its_range(low: float, high: float, whole: bool,
                                                                  labels: list[str]) -> None:
    from app.search.understanding import MAX_BINS, number_bins

    bins = number_bins(low, high, whole)
    assert [b["label"] for b in bins] == labels and len(bins) <= MAX_BINS
    assert bins[0]["gte"] <= low and bins[-1]["lt"] > high  # every value falls in one bin
    assert all(a["lt"] == b["gte"] for a, b in zip(bins, bins[1:], strict=False))
    assert number_bins(float("nan"), 3, True) == []
    assert number_bins(0, 1e300, False) == []  # a hostile trait value: no breakdown rather than an error


BUYERS = [{"traits": {"plan": ["free", "pro"][i % 2], "preferred_channel": ["email", "web"][i % 2],
                        "newsletter": i % 3 == 0},
             "top": {"category": [["books", "garden", "music"][i % 3]], "product": [f"SKU-{i}"]},
             "counts": {t: 1 + i for t in ("page-view", "product-view", "add-to-cart", "purchase-order", "email-opened",
                                          "ticket-opened")[: 2 + i % 5]},
             "last_seen": "2024-06-01T10:00:00+00:00"} for i in range(40)]


def _named_events(wording: str) -> Any:
    """The event types' names as the container gives them: labels, and how one such event is said."""
    from app.config import Settings
    from app.container import event_labels
    from profiles.dictionary import EventDictionary

    settings = Settings(language=wording)
    return event_labels(settings, EventDictionary.load(None, settings.lang.wording))


@pytest.mark.parametrize(("question", "filters"), [
    # at least one event of a type, said with a verb (had been a meaning, so an estimate: "bought something" 8 of
    # 1,000 where 307 had purchases)
    ("customers who bought something", ["counts.purchase-order>=1"]),
    ("customers who made a purchase", ["counts.purchase-order>=1"]),
    ("customers who opened a support ticket", ["counts.ticket-opened>=1"]),
    ("customers who opened an email", ["counts.email-opened>=1"]),  # the event, not the channel `email`
    ("customers who added to cart but never purchased", ["counts.add-to-cart>=1", "counts.purchase-order<1"]),
    ("customers who never purchased", ["counts.purchase-order<1"]),  # the dictionary's "bought" reads it
    # denied, it is none, and still the event rather than the channel `email`
    ("customers who haven't opened any emails", ["counts.email-opened<1"]),
    ("customers who did not buy anything", ["counts.purchase-order<1"]),
    ("customers who don't get the newsletter", ["traits.newsletter=False"]),
    # a quantity is the numbers' ("an average rating above 4" had become "at least one rating")
    ("customers who made more than 3 purchases", ["purchases>3"]),
    # a trait's value stays the value's, and "with a" / "on a" name no event
    ("customers who prefer email", ["traits.preferred_channel=email"]),
    ("customers on a pro plan", ["traits.plan=pro"]),
    ("customers who want a newsletter", ["traits.newsletter=True"]),
    # a facet's own name says no more than the verb; one of its values says which events: read from the event log
    ("customers who viewed a product", ["counts.product-view>=1"]),
    ("customers who bought a book", ["events.purchase-order about books"]),
    # no event's phrase (under every entry's bar), and a plan no one is on: that plan, which counts 0
    ("customers who chose a premium plan", ["traits.plan=premium"]),
    ("customers who won a prize", []),
])
def test_at_least_one_event_said_with_a_verb(encoder: Any, question: str, filters: list[str]) -> None:
    vocab = attach_meaning(build_vocabulary(BUYERS), encoder, ("en",), _named_events("en"))
    assert sorted(understand(question, vocab).filters) == sorted(filters)


def test_at_least_one_event_in_spanish(e5: Any) -> None:
    vocab = attach_meaning(build_vocabulary(BUYERS), e5, ("en", "es"), _named_events("multi"))
    assert understand("clientes que compraron algo", vocab).filters == ["counts.purchase-order>=1"]
    assert understand("clientes que abrieron una incidencia", vocab).filters == ["counts.ticket-opened>=1"]
    # a conjugation the model reads under its bar ("compraron" 0.48 against "compró") is the verb by its stem
    assert understand("clientes que compraron una camiseta", vocab).filters == ["counts.purchase-order>=1"]
    assert understand("clientes que no compraron nada", vocab).filters == ["counts.purchase-order<1"]
    assert understand("clientes con plan gratuito", vocab).filters == ["traits.plan=free"]
    # phrases of no event stay a meaning under the entries' own bars
    assert understand("clientes que ganaron un premio", vocab).filters == []
    assert understand("clientes que eligieron un plan premium", vocab).filters == ["traits.plan=premium"]
    # "ningún email" after a denied verb is the emails, not the channel `email` denied too (it had been both, said
    # exact); "correo" is the email's other name
    assert understand("clientes que no abrieron ningún email", vocab).filters == ["counts.email-opened<1"]
    assert understand("clientes que no abrieron ningún correo en los últimos 90 días", vocab).filters == [
        "events.email-opened since 2024-03-03: none"]


# a Spanish shop's own event types ("compra", "visita-pagina"), asked about in English: an agent may ask in either
TIENDA = [{**b, "counts": {{"page-view": "visita-pagina", "product-view": "vista-producto", "add-to-cart":
                            "anadir-al-carrito", "purchase-order": "compra", "email-opened": "email-abierto",
                            "ticket-opened": "incidencia-abierta"}[t]: n for t, n in cast(dict[str, int], b["counts"]).items()}}
          for b in BUYERS]


@pytest.mark.parametrize(("question", "filters"), [
    # a bare English verb over a Spanish shop's types: meaning falls short across languages, the verb's other
    # language's words read it (`_SAME_VERB`; each had been a meaning, or nothing)
    ("customers who bought something", ["counts.compra>=1"]),
    ("customers who bought in the last 90 days", ["events.compra since 2024-03-03"]),
    ("customers who have not bought in the last 90 days", ["events.compra since 2024-03-03: none"]),
    ("customers who viewed a product", ["counts.vista-producto>=1"]),
])
def test_an_event_asked_in_the_other_language(e5: Any, question: str, filters: list[str]) -> None:
    vocab = attach_meaning(build_vocabulary(TIENDA), e5, ("en", "es"), _named_events("multi"))
    assert understand(question, vocab).filters == filters


def test_a_spanish_verb_meets_an_english_shops_types(e5: Any) -> None:
    vocab = attach_meaning(build_vocabulary(BUYERS), e5, ("en", "es"), _named_events("multi"))
    assert understand("clientes que compraron en los últimos 90 días", vocab).filters == [
        "events.purchase-order since 2024-03-03"]
    assert understand("clientes que no abrieron ningún email", vocab).filters == ["counts.email-opened<1"]


TICKETS = [{**b, "top": {**cast(dict[str, Any], b["top"]), "topic": [["refund", "delivery"][i % 2]]}}
           for i, b in enumerate(BUYERS)]


@pytest.mark.parametrize(("question", "about", "filters"), [
    # the value says which events: the event log answers who had one (`SearchService.about`)
    ("customers who bought books", [("purchase-order", ["books"])], []),
    ("customers who bought a book or music", [("purchase-order", ["books", "music"])], []),
    ("customers who have bought books", [("purchase-order", ["books"])], []),  # a perfect: the participle's event
    ("customers who opened a support ticket about refunds", [("ticket-opened", ["refund"])], []),
    ("customers who prefer email and who bought books", [("purchase-order", ["books"])],
     ["traits.preferred_channel=email"]),
    # who did not: everyone but those the log holds such an event for (`EventReading.denied`)
    ("customers who never bought books", [("purchase-order", ["books"])], []),
    ("customers who never opened a support ticket about refunds", [("ticket-opened", ["refund"])], []),
    # a value no event holds is no reading of the event log
    ("customers who bought a sofa", [], ["counts.purchase-order>=1"]),
    # a value spelled another way or mistyped is the value (`app/search/spelling.py`); another word is not
    ("customers who bought bokos", [("purchase-order", ["books"])], []),
    ("customers who never bought gardn", [("purchase-order", ["garden"])], []),
    ("customers who opened a support ticket about refnd", [("ticket-opened", ["refund"])], []),
    ("customers who bought boots", [], ["counts.purchase-order>=1"]),
])
def test_an_event_about_a_value_is_read_for_the_event_log(encoder: Any, question: str,
                                                          about: list[tuple[str, list[str]]],
                                                          filters: list[str]) -> None:
    vocab = attach_meaning(build_vocabulary(TICKETS), encoder, ("en",), _named_events("en"))
    u = understand(question, vocab)
    assert u.about == about
    assert [f for f in u.filters if not f.startswith("events.")] == filters
    none = ": none" if any(w in question.split() for w in ("never", "not")) else ""
    assert [e.denied for e in u.events()] == [bool(none)] * len(about)
    assert [f for f in u.filters if f.startswith("events.")] == [f"events.{t} about {','.join(v)}{none}"
                                                                  for t, v in about]
    if about:  # nothing of what was read is left for meaning
        assert not {"books", "refunds", "music"} & set(u.semantic.split())


def test_an_event_about_a_value_in_spanish(e5: Any) -> None:
    """A Spanish shop's events hold Spanish values: "compraron libros" is who bought one, from the event log."""
    tienda = [{**b, "top": {"categoria": [["libros", "jardín", "música"][i % 3]], "tema": [["reembolso", "envío"][i % 2]]}}
              for i, b in enumerate(BUYERS)]
    vocab = attach_meaning(build_vocabulary(tienda), e5, ("en", "es"), _named_events("multi"))
    assert understand("clientes que compraron libros", vocab).about == [("purchase-order", ["libros"])]
    assert understand("clientes que compraron libros o música", vocab).about == [
        ("purchase-order", ["libros", "música"])]
    assert understand("clientes que abrieron una incidencia sobre reembolsos", vocab).about == [
        ("ticket-opened", ["reembolso"])]
    denied = understand("clientes que no compraron libros", vocab)
    assert denied.about == [("purchase-order", ["libros"])] and denied.denied == [True]


@pytest.mark.parametrize(("vocab_wording", "question", "filters"), [
    ("en", "customers who viewed books but did not buy them",
     ["events.*-view about books", "events.purchase-order about books: none"]),
    ("en", "customers who viewed music but never bought it",
     ["events.*-view about music", "events.purchase-order about music: none"]),
    # no pronoun: no purchase at all, as before
    ("en", "customers who viewed books but did not buy anything",
     ["counts.purchase-order<1", "events.*-view about books"]),
    # Spanish says the pronoun before the verb, and "vieron" is a form of the "vista" an event's name says
    ("multi", "clientes que vieron libros pero no los compraron",
     ["events.*-view about libros", "events.purchase-order about libros: none"]),
    ("multi", "clientes que vieron música pero nunca la compraron",
     ["events.*-view about música", "events.purchase-order about música: none"]),
])
def test_a_pronoun_after_a_denied_verb_names_what_the_earlier_event_was_about(
        encoder: Any, e5: Any, vocab_wording: str, question: str, filters: list[str]) -> None:
    """"viewed books but did not buy them" is no purchase of books, from the event log: it had been read as no
    purchase at all (124 where 187 had viewed shoes without buying shoes in the benchmark shop)."""
    if vocab_wording == "en":
        vocab = attach_meaning(build_vocabulary(BUYERS), encoder, ("en",), _named_events("en"))
    else:
        tienda = [{**b, "top": {"categoria": [["libros", "jardín", "música"][i % 3]]}} for i, b in enumerate(BUYERS)]
        vocab = attach_meaning(build_vocabulary(tienda), e5, ("en", "es"), _named_events("multi"))
    read = understand(question, vocab).filters
    # "viewed" / "vieron" (a form of the "vistas" both view types' Spanish names say): either view type
    assert [re.sub(r"^events\.(page|product)-view ", "events.*-view ", f) for f in read] == filters


@pytest.mark.parametrize(("question", "values", "filters"), [
    # the verb right after what names the group, without "who" / "que"
    ("clientes con plan pro compraron libros", [["libros"]], ["traits.plan=pro"]),
    ("clientes del plan pro compraron libros o música", [["libros", "música"]], ["traits.plan=pro"]),
    # a second event after "y"
    ("clientes que compraron libros y abrieron una incidencia sobre reembolsos", [["libros"], ["reembolso"]], []),
    # a perfect: the participle says the event
    ("clientes que han comprado libros", [["libros"]], []),
])
def test_an_event_after_its_subject_or_after_and_in_spanish(e5: Any, question: str, values: list[list[str]],
                                                            filters: list[str]) -> None:
    tienda = [{**b, "top": {"categoria": [["libros", "jardín", "música"][i % 3]], "tema": [["reembolso", "envío"][i % 2]]}}
              for i, b in enumerate(BUYERS)]
    vocab = attach_meaning(build_vocabulary(tienda), e5, ("en", "es"), _named_events("multi"))
    u = understand(question, vocab)
    assert [e.values for e in u.events()] == values and not any(e.denied for e in u.events())
    assert [f for f in u.filters if not f.startswith("events.")] == filters


@pytest.mark.parametrize(("question", "window", "denied"), [
    ("customers who bought something in the last month", "since", False),
    ("clientes que compraron algo en el último mes", "since", False),  # "algo" between the event and its window
    ("customers who did not buy anything in the last month", "since", True),
    ("clientes que no compraron nada en el último mes", "since", True),
])
def test_an_event_in_a_window_denied_or_not(e5: Any, question: str, window: str, denied: bool) -> None:
    """"did not buy anything in the last month": no purchase in that month, from the event log (it had been "never
    bought" AND "active in the last month": those active lately who never bought, not those who did not buy lately)."""
    vocab = attach_meaning(build_vocabulary(BUYERS), e5, ("en", "es"), _named_events("multi"))
    u = understand(question, vocab)
    (event,) = u.events()
    assert event.etype == "purchase-order" and event.values == [] and event.denied is denied
    assert window in (event.window or {})
    assert not any(f.startswith(("last_seen", "counts.")) for f in u.filters)


@pytest.mark.parametrize(("question", "filters", "left"), [
    # what was bought is neither the event's words nor a value the events hold: an estimate among buyers, not
    # every buyer counted exactly (it had answered "bought a sofa" with all 248 buyers of anything, "exact")
    ("customers who bought a sofa", ["counts.purchase-order>=1"], "sofa"),
    ("customers who opened a support ticket", ["counts.ticket-opened>=1"], ""),
    ("customers who bought a product", ["counts.purchase-order>=1"], ""),  # a word for anything
    ("customers who did not buy a sofa", [], "sofa"),  # not "bought nothing": a meaning
    # "buy" is read as "bought" by its past; what follows still decides ("a sofa" above)
    ("customers who did not buy a product", ["counts.purchase-order<1"], ""),
])
def test_what_was_acted_on_is_left_to_the_meaning_unless_it_says_nothing_more(
        encoder: Any, question: str, filters: list[str], left: str) -> None:
    vocab = attach_meaning(build_vocabulary(TICKETS), encoder, ("en",), _named_events("en"))
    u = understand(question, vocab)
    assert u.filters == filters
    assert (left in u.semantic.split()) if left else u.semantic in ("customers who", "customers who a",
                                                                      "customers who did")


def test_what_was_acted_on_in_spanish_over_english_values_is_left_to_the_meaning(e5: Any) -> None:
    """"compraron zapatos" over events that say "shoes": the purchase, and "zapatos" by meaning (it had been
    every buyer, counted as exact)."""
    vocab = attach_meaning(build_vocabulary(TICKETS), e5, ("en", "es"), _named_events("multi"))
    u = understand("clientes que compraron zapatos", vocab)
    assert u.filters == ["counts.purchase-order>=1"] and "zapatos" in u.semantic.split()



@pytest.mark.parametrize(("question", "about", "window"), [
    ("customers who bought books in the last month", [("purchase-order", ["books"])], "since"),
    ("customers who bought something in the last month", [("purchase-order", [])], "since"),
    ("customers who bought books", [("purchase-order", ["books"])], None),
])
def test_an_event_in_a_time_window_is_read_with_its_window(encoder: Any, question: str,
                                                           about: list[tuple[str, list[str]]],
                                                           window: str | None) -> None:
    """"bought books in the last month" is an event in that month (the event log's times), not "ever bought books"
    AND "active in the last month"."""
    vocab = attach_meaning(build_vocabulary(TICKETS), encoder, ("en",), _named_events("en"))
    u = understand(question, vocab)
    assert u.about == about and not any(f.startswith(("last_seen", "counts.")) for f in u.filters)
    assert (window in (u.windows[0] or {})) if window else u.windows == [None]


def test_an_english_verb_in_the_present_meets_its_event_in_the_past(encoder: Any) -> None:
    """"did not buy anything" had hung on "buy" against "bought" scoring 0.79 at a bar of 0.79-0.80: read on 1,000
    shop profiles, not on 20,000 (bench/event_about_latency.py). The verb's past ("bought", "rated", "opened") is the
    event's own word."""
    from app.search.understanding import _past_forms

    assert {"bought"} <= _past_forms("buy") and {"bought"} <= _past_forms("buying")
    assert {"rated"} <= _past_forms("rate") and {"opened"} <= _past_forms("opens")
    vocab = attach_meaning(build_vocabulary(TICKETS), encoder, ("en",), _named_events("en"))
    assert understand("customers who buy books", vocab).about == [("purchase-order", ["books"])]
    assert understand("customers who did not buy anything", vocab).filters == ["counts.purchase-order<1"]


@pytest.mark.parametrize(("question", "filters"), [
    # how often: a count of the type the verb names ("times" / "veces"; they had read nothing, so a meaning)
    ("customers who bought more than 3 times", ["counts.purchase-order>3"]),
    ("customers who bought at least twice", ["counts.purchase-order>=2"]),
    ("customers who bought more than once", ["counts.purchase-order>1"]),  # "once" is 1 here, 11 in "once veces"
    ("customers who opened a support ticket more than twice", ["counts.ticket-opened>2"]),  # the verb's phrase
    ("clientes que compraron más de 3 veces", ["counts.purchase-order>3"]),
    ("clientes que compraron al menos dos veces", ["counts.purchase-order>=2"]),
    ("clientes que compraron más de una vez", ["counts.purchase-order>1"]),
    # with what they were about, or in a window: that many such events, from the event log
    ("customers who bought books more than twice", ["events.purchase-order about books: 3 or more"]),
    ("customers who bought at least 2 times in the last 90 days", ["events.purchase-order since 2024-03-03: 2 or more"]),
    ("clientes que compraron al menos dos veces en los últimos 90 días",
     ["events.purchase-order since 2024-03-03: 2 or more"]),
    ("customers who bought fewer than 2 times in the last 90 days",
     ["events.purchase-order since 2024-03-03: fewer than 2"]),
    # a calendar window is the event's, as "in the last month" is (it had been "active this year", the event a
    # meaning: 0 of 1,000 "compraron algo este año" where 219 had)
    ("customers who bought something this year", ["events.purchase-order since 2024-01-01"]),
    ("customers who bought books this year", ["events.purchase-order about books since 2024-01-01"]),
    ("clientes que compraron algo este año", ["events.purchase-order since 2024-01-01"]),
    ("customers who bought something in 2024", ["events.purchase-order since 2024-01-01 before 2025-01-01"]),
    # a verb between the negation and the window denies that event in it, not all activity
    ("customers who have not bought in the last 90 days", ["events.purchase-order since 2024-03-03: none"]),
    ("clientes que no han comprado en los últimos 90 días", ["events.purchase-order since 2024-03-03: none"]),
    ("customers who have not been active in the last 90 days", ["last_seen<2024-03-03"]),
    # values listed with "and": an event about each ("or": about either)
    ("customers who bought books and music", ["events.purchase-order about books",
                                              "events.purchase-order about music"]),
    ("customers who bought books and music this year", ["events.purchase-order about books since 2024-01-01",
                                                        "events.purchase-order about music since 2024-01-01"]),
    ("customers who bought books or music", ["events.purchase-order about books,music"]),
    ("customers who bought books but not music", ["events.purchase-order about books",
                                                  "events.purchase-order about music: none"]),
    # the calendar period before this one ("in the last year" is the 365 days before the clock)
    ("customers who bought something last year", ["events.purchase-order since 2023-01-01 before 2024-01-01"]),
    ("clientes que compraron algo el mes pasado", ["events.purchase-order since 2024-05-01 before 2024-06-01"]),
    ("customers who bought something in the last year", ["events.purchase-order since 2023-06-02"]),
    # how the dictionary says a page view (`asked`), even where "web" is also a channel people prefer
    ("clientes que visitaron la web este año", ["events.page-view since 2024-01-01"]),
    ("customers who visited the site in the last 90 days", ["events.page-view since 2024-03-03"]),
    ("clientes que prefieren la web", ["traits.preferred_channel=web"]),
    # a month by name: that month, the latest one by the clock ("in December" on a clock in June: last year's)
    ("customers who bought something in March", ["events.purchase-order since 2024-03-01 before 2024-04-01"]),
    ("clientes que compraron algo en diciembre", ["events.purchase-order since 2023-12-01 before 2024-01-01"]),
    # the verb of a count is the count's, not a second "at least one" reading of it; a compound's head is read
    ("customers who opened more than 2 support tickets", ["counts.ticket-opened>2"]),
    ("customers who added something to the cart this month", ["events.add-to-cart since 2024-06-01"]),
    # an abandoned cart: no purchase in the cart's window ("never" is never)
    ("customers who added to cart in the last 90 days but did not buy",
     ["events.add-to-cart since 2024-03-03", "events.purchase-order since 2024-03-03: none"]),
    ("customers who added to cart in the last 90 days but never bought",
     ["counts.purchase-order<1", "events.add-to-cart since 2024-03-03"]),
    # new buyers: in the window, and none such before it
    ("customers who bought for the first time in the last 90 days",
     ["events.purchase-order since 2024-03-03", "events.purchase-order before 2024-03-03: none"]),
    ("clientes que compraron por primera vez este año",
     ["events.purchase-order since 2024-01-01", "events.purchase-order before 2024-01-01: none"]),
    ("customers who made their first purchase this year",  # it had been active this year AND bought ever
     ["events.purchase-order since 2024-01-01", "events.purchase-order before 2024-01-01: none"]),
    ("clientes que hicieron su primera compra en los últimos 90 días",
     ["events.purchase-order since 2024-03-03", "events.purchase-order before 2024-03-03: none"]),
    # how often, then a window: "this" is the window's, not what was counted (it had been 3 purchases ever AND
    # active this year AND one of books, said exact)
    ("customers who bought books more than twice this year", ["events.purchase-order about books since 2024-01-01: 3 or more"]),
    ("customers who bought more than twice this year", ["events.purchase-order since 2024-01-01: 3 or more"]),
    ("clientes que compraron más de dos veces este año", ["events.purchase-order since 2024-01-01: 3 or more"]),
    # the same questions said another way (`_PARAPHRASES`; each had been an estimate, or left words to the meaning)
    ("customers who bought both books and music", ["events.purchase-order about books",
                                                   "events.purchase-order about music"]),
    ("customers who have ever bought books", ["events.purchase-order about books"]),
    ("clientes que han comprado alguna vez", ["counts.purchase-order>=1"]),
    ("clientes que no han comprado nunca", ["counts.purchase-order<1"]),
    ("customers who haven't bought in over 90 days", ["events.purchase-order since 2024-03-03: none"]),
    ("customers who have gone 90 days without buying", ["events.purchase-order since 2024-03-03: none"]),
    ("clientes que llevan más de 90 días sin comprar", ["events.purchase-order since 2024-03-03: none"]),
    ("clientes que no compran desde hace 90 días", ["events.purchase-order since 2024-03-03: none"]),
    # a value between "not" and a window is what is denied, not the activity (it had read "not active this year")
    ("customers who bought books but not music this year",
     ["events.purchase-order about books", "events.purchase-order about music since 2024-01-01: none"]),
    # the latest such event: such an event, and none since the day ("less than": one since it)
    ("customers whose last purchase was more than 90 days ago",
     ["events.purchase-order", "events.purchase-order since 2024-03-03: none"]),
    ("clientes que compraron por última vez hace menos de 90 días", ["events.purchase-order since 2024-03-03"]),
    # exactly that many times
    ("customers who bought only once", ["counts.purchase-order>=1, counts.purchase-order<=1"]),
    ("clientes que compraron una sola vez", ["counts.purchase-order>=1, counts.purchase-order<=1"]),
    ("clientes que compraron solo dos veces", ["counts.purchase-order>=2, counts.purchase-order<=2"]),
])
def test_how_often_in_a_calendar_window_and_a_list_of_values(e5: Any, question: str, filters: list[str]) -> None:
    vocab = attach_meaning(build_vocabulary(TICKETS), e5, ("en", "es"), _named_events("multi"))
    u = understand(question, vocab)
    assert u.filters == filters
    assert set(u.semantic.split()) <= {"customers", "who", "whose", "have", "but", "clientes", "que", "han"}  # all read


def test_a_number_of_times_is_at_least_or_fewer_than() -> None:
    from app.search.understanding import _at_least

    assert _at_least({"gt": 2}) == (3, False) and _at_least({"gte": 2}) == (2, False)
    assert _at_least({"lt": 1}) == (1, True) and _at_least({"lte": 2}) == (3, True)
    assert _at_least({"gte": 0}) is None and _at_least({"gte": 2, "lte": 4}) is None


def _shop() -> list[dict[str, Any]]:
    """TICKETS where the purchase type's count is every buyer's `purchases` (a count no other type has)."""
    shop = []
    for i, b in enumerate(TICKETS):
        counts = dict(cast(dict[str, int], b["counts"]))
        if "purchase-order" in counts:
            counts["purchase-order"] = 100 + i
        shop.append({**b, "counts": counts, "purchases": counts.get("purchase-order", 0)})
    return shop


def test_a_number_of_purchases_in_a_window_is_that_many_purchase_events(e5: Any) -> None:
    """"made at least 2 purchases this year" had read as 2 purchases ever AND active this year, said exact. The
    type whose count is every buyer's `purchases` is the purchase type, and the window is its events'."""
    shop = _shop()
    vocab = attach_meaning(build_vocabulary(shop), e5, ("en", "es"), _named_events("multi"))
    assert vocab.purchase_type == "purchase-order"
    for question in ("customers who made at least 2 purchases this year",
                     "clientes que hicieron al menos 2 compras este año"):
        assert understand(question, vocab).filters == ["events.purchase-order since 2024-01-01: 2 or more"]
    assert understand("customers with more than 3 purchases", vocab).filters == ["purchases>3"]  # no window
    # the everyday names of buyers by how often (they had been a meaning: "repeat customers" 15 of 181)
    for question in ("how many repeat customers?", "¿cuántos clientes recurrentes hay?"):
        assert understand(question, vocab).filters == ["counts.purchase-order>=2"]
    for question in ("how many one-time buyers?", "¿cuántos compradores de una sola vez?"):
        assert understand(question, vocab).filters == ["counts.purchase-order>=1, counts.purchase-order<=1"]
    assert understand("repeat customers this year", vocab).filters == [
        "events.purchase-order since 2024-01-01: 2 or more"]
    # one purchase's amount ("a purchase over 100", "una compra de más de 100 euros"), not their sum
    for question, window in [("customers who made a purchase over 100", ""),
                             ("clientes que hicieron una compra de más de 100 euros este año", " since 2024-01-01"),
                             ("customers with an order of more than 100 euros", "")]:
        u = understand(question, vocab)
        assert u.filters == [f"events.purchase-order{window}: one with amount>100"], question
        assert u.events()[0].single == {"gt": 100.0}
    assert understand("customers who never made a purchase over 100", vocab).about == []  # not read as made one
    # an abandoned cart: the cart type's last event (in the window) with no purchase after it
    assert "counts.add-to-cart" in vocab.event_counts.values()
    for question, window in [("how many customers abandoned their cart?", ""),
                             ("¿cuántos clientes abandonaron el carrito este año?", " since 2024-01-01"),
                             ("cart abandoners this year", " since 2024-01-01"),
                             ("clientes con carritos abandonados", "")]:
        u = understand(question, vocab)
        assert u.filters == [f"events.add-to-cart{window}: no events.purchase-order after the last"], question
        assert u.events()[0].unfollowed_by == "purchase-order"
        assert not {"abandoned", "abandonaron", "cart", "carrito", "carritos", "abandoners"} & set(u.semantic.split())
    no_cart = [{**p, "counts": {k: n for k, n in cast(dict[str, int], p["counts"]).items() if k != "add-to-cart"}}
               for p in shop]
    assert understand("customers who abandoned their cart", attach_meaning(
        build_vocabulary(no_cart), e5, ("en", "es"), _named_events("multi"))).about == []  # no cart type: not read
    # two types whose counts are every buyer's purchases: which one is unknown, so neither
    twins = [{**p, "counts": {**cast(dict[str, int], p["counts"]), "checkout": p["purchases"]}} if p["purchases"]
             else p for p in shop]
    assert build_vocabulary(twins).purchase_type is None
    assert build_vocabulary(TICKETS).purchase_type is None  # no purchases in the payloads


def test_buyers_again_a_day_one_more_purchase_and_what_a_share_is_of(e5: Any) -> None:
    """Everyday words the readings had missed: "son recurrentes" / "volvieron a comprar" (estimates), "ayer" /
    "yesterday" (left to meaning: "visitaron la web ayer" had counted every visitor, said exact), "also bought"
    ("also" had read as the plan "plus"; "bought books also bought music" as either), a decimal ("40.16" had read
    as 40, and 16 left over); and the group a share is asked of."""
    from app.search.understanding import share_base

    vocab = attach_meaning(build_vocabulary(_shop()), e5, ("en", "es"), _named_events("multi"))
    for question in ("¿qué proporción de clientes son recurrentes?", "clientes que volvieron a comprar",
                     "customers who bought again", "¿cuántos son habituales?"):
        assert understand(question, vocab).filters == ["counts.purchase-order>=2"], question
    # a day of the data's clock (2024-06-01): yesterday, today; "today" said of how many there are is no window
    for question in ("customers who bought yesterday", "¿cuántos clientes compraron ayer?"):
        assert understand(question, vocab).filters == ["events.purchase-order since 2024-05-31 before 2024-06-01"]
    assert understand("customers who bought today", vocab).filters == [
        "events.purchase-order since 2024-06-01 before 2024-06-02"]
    for question in ("how many customers do we have today", "customers today", "¿cuántos clientes hay hoy?"):
        assert understand(question, vocab).filters == [], question
    for question in ("customers who bought books also bought music", "customers who bought books and also bought music",
                     "customers who bought books bought music"):  # a second verb: its own clause, not "books or music"
        assert understand(question, vocab).filters == ["events.purchase-order about books",
                                                       "events.purchase-order about music"], question
    assert understand("customers who also bought music", vocab).filters == ["events.purchase-order about music"]
    # a number's decimals, either separator, and thousands grouped
    for question, bound in [("customers who spent more than 40.16", "spend_total>40.16"),
                            ("clientes que gastaron más de 100,5 euros", "spend_total>100.5"),
                            ("customers who spent more than 1,234.5", "spend_total>1234.5"),
                            ("clientes que gastaron más de 1.234,5 euros", "spend_total>1234.5")]:
        assert understand(question, vocab).filters == [bound], question
    # a stretch after a denied event is the last one ("in 3 months" had been left to meaning, and "ningún
    # correo" read as not the channel email)
    for question in ("customers who haven't opened an email in 3 months",
                     "¿cuántos clientes no han abierto ningún correo en 3 meses?"):
        (reading,) = understand(question, vocab).filters
        assert reading.startswith("events.email-opened since 2024-03") and reading.endswith(": none"), question
    assert understand("customers who made more than one purchase", vocab).filters == ["purchases>1"]
    # one event in two windows (the second had been left to meaning, or read as last seen)
    for question, filters in [
        ("customers who bought books last month but not this month",
         ["events.purchase-order about books since 2024-05-01 before 2024-06-01",
          "events.purchase-order about books since 2024-06-01: none"]),
        ("clientes que compraron en abril y en mayo", ["events.purchase-order since 2024-04-01 before 2024-05-01",
                                                      "events.purchase-order since 2024-05-01 before 2024-06-01"]),
        ("customers who bought in march and april", ["events.purchase-order since 2024-03-01 before 2024-04-01",
                                                     "events.purchase-order since 2024-04-01 before 2024-05-01"]),
    ]:
        u = understand(question, vocab)
        assert u.filters == filters and set(u.semantic.split()) <= {"customers", "who", "clientes", "que"}, question
        assert [e.denied for e in u.events()] == [False, "not" in question]
    # two events, each in its own window (the second window had been dropped: "bought something in" and a meaning)
    u = understand("customers who opened a support ticket in march and bought something in april", vocab)
    assert u.filters == ["events.ticket-opened since 2024-03-01 before 2024-04-01",
                         "events.purchase-order since 2024-04-01 before 2024-05-01"]
    # a second window no event takes is left to meaning, never read as last seen in it
    u = understand("customers who bought books in march or in april", vocab)
    assert u.filters == ["events.purchase-order about books since 2024-03-01 before 2024-04-01"]
    assert "april" in u.semantic
    # a purchase of some things for an amount: one such purchase's, or ("in total") their sum
    assert understand("customers who bought books for more than 100", vocab).filters == [
        "events.purchase-order about books: one with amount>100"]
    assert understand("customers who bought a book for less than 20 euros", vocab).filters == [
        "events.purchase-order about books: one with amount<20"]
    assert understand("customers who bought books for more than 100 in total", vocab).filters == [
        "events.purchase-order about books: amount>100"]
    # a number of times said bare is exactly that many ("bought books twice" had read nothing); a rate is not
    assert understand("customers who bought twice", vocab).filters == ["counts.purchase-order>=2, counts.purchase-order<=2"]
    for question in ("customers who bought books twice", "clientes que compraron libros dos veces"):
        assert understand(question, vocab).filters == ["events.purchase-order about books: 2 or more",
                                                       "events.purchase-order about books: fewer than 3"], question
    assert "counts.purchase-order>=2, counts.purchase-order<=2" not in understand(
        "customers who buy twice a month", vocab).filters
    for question in ("customers who spent nothing", "how many non-buyers"):
        assert understand(question, vocab).filters == ["counts.purchase-order<1"], question
    # a verb after an object starts its own clause ("viewed books | never added": the view had been lost)
    assert sorted(understand("customers who viewed books never added anything to the cart", vocab).filters) == [
        "counts.add-to-cart<1", "events.page-view about books"]
    # what a share is of: the words before what is asked of them ("who ..." is the group's own clause)
    for question, base in [("what percentage of customers on a pro plan bought books?", "customers on a pro plan"),
                           ("what percentage of customers who bought books also bought music?",
                            "customers who bought books"),
                           ("what percentage of customers who bought books bought music?", "customers who bought books"),
                           ("¿qué porcentaje de clientes del plan pro compró libros?", "clientes del plan pro"),
                           ("¿qué porcentaje de los clientes recurrentes compraron libros?", "clientes recurrentes"),
                           ("what percentage of customers on a pro plan spent more than 40?", "customers on a pro plan"),
                           ("what share of customers are repeat buyers?", None),  # of everyone
                           ("what percentage of customers bought books", None),
                           ("how many customers on a pro plan bought books?", None)]:
        assert share_base(question, vocab) == base, question


CATEGORIAS = ["zapatos", "bolsos", "relojes", "joyería", "libros", "chaquetas", "cocina", "jardín", "electrónica",
              "juguetes"]


def test_what_was_acted_on_said_in_the_other_language(e5: Any) -> None:
    """English questions over a Spanish shop ("bought shoes" where the events say `zapatos`) had left the object
    to meaning (an estimate among buyers). With both languages read, the object is matched to what the events are
    about by meaning where one value leads clearly; where none does ("watches" against "relojes" and "juguetes",
    "furniture", which no value is), it stays a meaning; a deployment of one language never guesses."""
    tienda = [{"traits": {"pais": ["ES", "MX"][i % 2]}, "counts": {"compra": 1 + i % 3, "visita-pagina": 2},
               "purchases": 1 + i % 3, "top": {"categoria": [CATEGORIAS[i % len(CATEGORIAS)]]}} for i in range(40)]
    vocab = attach_meaning(build_vocabulary(tienda), e5, ("en", "es"), _named_events("multi"))
    for question, value in [("customers who bought shoes", "zapatos"), ("customers from Spain who bought books",
                                                                        "libros"),
                            ("how many customers bought kitchen items?", "cocina")]:
        u = understand(question, vocab)
        assert f"events.compra about {value}" in u.filters, (question, u.filters)
        assert not {"shoes", "books", "kitchen"} & set(u.semantic.split())
    for question in ("customers who bought furniture", "customers who bought something"):
        assert not any(" about " in f for f in understand(question, vocab).filters), question
    one = attach_meaning(build_vocabulary(tienda), e5, ("es",), _named_events("multi"))
    assert not any(" about " in f for f in understand("customers who bought shoes", one).filters)


def test_spend_in_a_window_is_the_purchases_amounts_summed_in_it(e5: Any) -> None:
    """"spent more than 100 euros last year" had read as lifetime spend over 100 AND active last year (in
    Spanish, "100 euros el año" as 100 a year, so not at all): it is the purchases' amounts in that year, summed."""
    shop = [{**b, "counts": {**cast(dict[str, int], b["counts"]), "purchase-order": 100 + i}, "purchases": 100 + i,
             "spend_total": 10.0 * i} for i, b in enumerate(TICKETS)]
    vocab = attach_meaning(build_vocabulary(shop), e5, ("en", "es"), _named_events("multi"))
    for question, filters in [
        ("customers who spent more than 100 euros last year",
         ["events.purchase-order since 2023-01-01 before 2024-01-01: amount>100"]),
        ("clientes que gastaron más de 100 euros el año pasado",
         ["events.purchase-order since 2023-01-01 before 2024-01-01: amount>100"]),
        ("customers who spent less than 20 this year", ["events.purchase-order since 2024-01-01: amount<20"]),
        ("customers who spent more than 100 euros", ["spend_total>100"]),  # no window: the lifetime total
        # on a value events are about: those purchases' amounts (it had been lifetime spend, and "on books" a meaning)
        ("customers who spent more than 100 on books", ["events.purchase-order about books: amount>100"]),
        ("customers who spent more than 100 on books this year",
         ["events.purchase-order about books since 2024-01-01: amount>100"]),
    ]:
        u = understand(question, vocab)
        assert u.filters == filters, question
        assert [e.amount for e in u.events()] == [{"gt": 100} if "100" in question else {"lt": 20}][:len(u.events())]


@pytest.mark.parametrize(("question", "filters"), [
    ("customers who bought on the web", ["counts.purchase-order>=1", "traits.preferred_channel=web"]),
    # the value between the event and its window is no gap: the purchase is in the window
    ("customers who bought on the web this year",
     ["traits.preferred_channel=web", "events.purchase-order since 2024-01-01"]),
    ("customers who prefer email and bought books", ["traits.preferred_channel=email",
                                                     "events.purchase-order about books"]),
])
def test_a_value_after_a_preposition_is_where_the_event_was_done(encoder: Any, question: str,
                                                                 filters: list[str]) -> None:
    """"compraron en la web": the purchase, and the channel as a value (the purchase had been dropped, so the count
    was an estimate by meaning of "bought")."""
    vocab = attach_meaning(build_vocabulary(BUYERS), encoder, ("en",), _named_events("en"))
    assert understand(question, vocab).filters == filters


def test_a_number_before_what_people_did_is_their_age(encoder: Any) -> None:
    """"customers under 30 opened a support ticket": 30 is the customers' age (their band, here), not a count of
    tickets (it had read "fewer than 30 tickets"); "opened more than 3 tickets" still counts them."""
    rows = [{**b, "traits": {**cast(dict[str, Any], b["traits"]), "age_band": BANDS[i % 6]}}
            for i, b in enumerate(TICKETS)]
    vocab = attach_meaning(build_vocabulary(rows), encoder, ("en",), _named_events("en"))
    assert understand("customers under 30 opened a support ticket", vocab).filters == [
        "traits.age_band=18-24", "counts.ticket-opened>=1"]
    assert understand("customers who opened more than 3 support tickets", vocab).filters == ["counts.ticket-opened>3"]


def test_verbs_read_as_events_are_bounded_per_question(encoder: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each "X more than 2 times" and "not X in the last month" encodes its verb to find the event type: a hostile
    question of dozens costs at most MAX_EVENT_READINGS such encodings (it had cost one each)."""
    import app.search.understanding as reading

    vocab = attach_meaning(build_vocabulary(BUYERS), encoder, ("en",), _named_events("en"))
    calls: list[str] = []
    real = reading._event_of

    def counted(verb: str, v: Vocabulary) -> str | None:
        calls.append(verb)
        return real(verb, v)

    monkeypatch.setattr(reading, "_event_of", counted)
    hostile = " ".join(f"not zorp{i} in the last month and blick{i} more than 2 times" for i in range(30))[:1000]
    understand(hostile, vocab)
    assert 0 < len(calls) <= reading.MAX_EVENT_READINGS
    calls.clear()
    assert understand("customers who bought more than 3 times", vocab).filters == ["counts.purchase-order>3"]
    assert calls  # an ordinary question reads its verb
