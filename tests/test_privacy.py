"""Privacy by default: personal data planted in every Tracardi version's profiles and events, in English and
Spanish key styles and in the value shapes people really type, reaches no document, payload, feature row,
event row, search hit, profile card, timeline, page, MCP answer or LangChain answer."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.sync.service import event_rows, features_of
from app.tracardi.schemas import parse_event, parse_profile
from embeddings.documents import DocumentBuilder
from embeddings.payload import profile_payload
from embeddings.redaction import Redactor, find_shapes, key_words
from profiles.model import ProfileWithEvents
from tests.mcp_text import tool_text
from tests.tracardi_emulator.generate import make_profiles
from tests.tracardi_emulator.shapes import VERSIONS, render_event, render_profile

# Values that are personal by their shape alone, whatever key holds them.
SHAPED = {
    "e-mail": "jane.doe@example.com",
    "obfuscated e-mail": "jane(at)example(dot)com",
    "bracketed e-mail": "jane [at] example [dot] com",
    "spanish obfuscated e-mail": "maria arroba correo punto es",
    "international phone": "+34 612 345 678",
    "spanish phone": "612 345 678",
    "german phone": "0171/1234567",
    "compact IBAN": "ES9121000418450200051332",
    "spaced IBAN": "ES91 2100 0418 4502 0005 1332",
    "card": "4111 1111 1111 1111",
    "DNI": "12345678Z",
    "NIE": "X1234567L",
    "CIF": "B87654321",
    "UK NI": "QQ 12 34 56 C",
    "compact UK NI": "QQ123456C",
    "SSN": "123-45-6789",
    "IPv4": "192.168.10.20",
    "IPv6": "2001:db8::8a2e:370:7334",
    "Android id": "9774d56d682e549c",
    "advertising id": "6D92078A-8246-4BA4-AE5B-76104861E7DC",
    "Salesforce id": "0035g00000XyZabAAB",
    "MAC": "00:1A:2B:3C:4D:5E",
    "CRM id": "crm-7788991",
    "spanish street address": "Calle de Alcalá 45, 3º B",
    "abbreviated street address": "C/ Gran Vía 12",
    "colombian street address": "Carrera 7 # 45-10",
    "english street address": "742 Evergreen Terrace",
}
# Keys that are personal by their name, in the styles real deployments use; their values have no telltale
# shape (a first name, a postcode), so only the key can give them away.
KEYED = {
    "givenName": "Wilhelmina", "familyName": "Orzechowska", "fullName": "Wilhelmina Orzechowska",
    "displayName": "WillyOrz", "emailAddress": "willy.orz", "phoneNumber": "79460958", "ipAddress": "localnet-7",
    "clientIp": "edge-proxy-9", "deviceId": "pixel-of-willy", "crmId": "WILLYCRM", "customerId": "CUSTWILLY",
    "nombre": "Maximiliana", "apellidos": "Etxeberria Goikoetxea", "direccion": "Calle Serrano 41",
    "Dirección_Envío": "Avenida Diagonal 640", "telefono": "91123", "correo": "maxi.etx", "dni": "DNIMAXI",
    "nif": "NIFMAXI", "codigo_postal": "28911", "codigoPostal": "08021", "fechaNacimiento": "1984-07-19",
    "first_name": "Bartholomew", "home-address": "221B Baker Street", "zipCode": "SW1A 1AA",
    "numero_identificacion": "IDMAXI", "telf": "91123",
}
DESCRIPTIVE = {"plan": "gold", "favouriteGenre": "Comedy", "age": 41, "preferred_language": "es",
               "loyaltyCardTier": "platinum", "email_opt_in": True, "last_login": "2024-05-01",
               "device_type": "mobile", "palabra_clave": "vacaciones"}


def planted_strings() -> list[str]:
    return list(SHAPED.values()) + [v for v in KEYED.values() if isinstance(v, str)]


def leaks(text: str) -> list[str]:
    """The planted values found in `text`, also with spaces removed (a masked space is not a mask)."""
    squashed = text.replace(" ", "")
    return [v for v in planted_strings() if v in text or (len(v) > 6 and v.replace(" ", "") in squashed)]


@pytest.mark.parametrize("key", sorted(KEYED))
def test_personal_keys_in_every_style_are_recognised(key: str) -> None:
    assert Redactor().key_is_pii(key), key_words(key)


@pytest.mark.parametrize("key", sorted(set(DESCRIPTIVE) - {"email_opt_in"}) + ["product.name", "page.name",
                                                                                 "nombre_producto", "hotel"])
def test_descriptive_keys_are_kept(key: str) -> None:
    assert not Redactor().key_is_pii(key)


def test_a_boolean_carries_no_contact_detail_whatever_its_key() -> None:
    assert Redactor().clean({"email_opt_in": True, "email": "a@b.io", "phone": 612345678}) == {"email_opt_in": True}


@pytest.mark.parametrize("name", sorted(SHAPED))
def test_value_shapes_are_recognised_alone_and_inside_text(name: str) -> None:
    value = SHAPED[name]
    assert find_shapes(value), name
    masked = Redactor().scrub_text(f"Hola, please call me back at {value} mañana.")
    assert not leaks(masked) and masked.startswith("Hola, please call me back at [") and masked.endswith("mañana.")


@pytest.mark.parametrize("text", ["Drama", "rated 5/5", "10:30:00", "2023-01-15", "1999-2005", "at home tonight",
                                  "bought 3 x Shoes for 120.50 EUR", "Toy Story (1995)", "iPhone 15 Pro", "COVID-19",
                                  "SKU-12", "Comedia romántica", "Calle 13", "dimos un paseo de 30 minutos",
                                  "Miracle on 34th Street (1947)", "visitó la plaza 3 veces", "5 Star Hotel",
                                  "compró en la tienda de Plaza Norte", "top 3 Way to save"])
def test_ordinary_values_are_not_mistaken_for_personal_data(text: str) -> None:
    assert find_shapes(text) == [] and Redactor().scrub_text(text) == text


def planted_profile(pid: str, version: str, placements: dict[str, str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A canonical profile and three events carrying every planted value, as `version` would serve them."""
    profiles, events = make_profiles(1, seed=5, events_per_profile=3)
    p = profiles[0] | {"id": pid, "ids": [pid]}
    traits: dict[str, Any] = dict(DESCRIPTIVE)
    traits.update(KEYED)
    traits["contacto"] = {"movil": "600111222", "notes": "no"}
    notes = []
    for i, (name, where) in enumerate(placements.items()):
        value = SHAPED[name]
        if where == "trait":
            traits[f"note{i}"] = value
        elif where == "nested trait":
            traits.setdefault("misc", {})[f"v{i}"] = [value]
        else:
            notes.append((where, value))
    p["traits"] = traits
    p["interests"] = {"comedy": 3, "jane.doe@example.com": 1}
    out_events = []
    for j, e in enumerate(events):
        e = e | {"id": f"{pid}-e{j}", "profile": {"id": pid}}
        props = dict(e["properties"])
        for where, value in notes:
            if where == "event category":
                props["category"] = value
            elif where == "event free text":
                props["comment"] = f"Hola, llámame al {value} por favor, gracias"
            else:  # an event property under a personal key
                props["customerEmail"] = value
        props["nombreCompleto"] = "Maximiliana Etxeberria"
        e["properties"] = props
        out_events.append(render_event(e, version))
    return render_profile(p, version), out_events


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(version=st.sampled_from(sorted(VERSIONS)),
       placements=st.fixed_dictionaries({name: st.sampled_from(["trait", "nested trait", "event category",
                                                                "event free text", "event keyed"])
                                         for name in SHAPED}))
def test_planted_personal_data_reaches_no_document_payload_or_row(version: str, placements: dict[str, str]) -> None:
    raw, raw_events = planted_profile("p-1", version, placements)
    profile = parse_profile(raw, location="p")
    events = [parse_event(e, location="e") for e in raw_events]
    item = ProfileWithEvents(profile=profile, events=events)
    builder = DocumentBuilder(redactor=Redactor())
    doc = builder.build(item)
    outputs = {
        "document": doc.text,
        "payload": json.dumps(profile_payload(profile, doc, source="t"), default=str),
        "features": json.dumps(features_of(doc).__dict__, default=str),
        "event rows": json.dumps([r.__dict__ for r in event_rows(item, builder, doc)], default=str),
    }
    for where, text in outputs.items():
        assert not leaks(text), (where, leaks(text), text[:400])
    assert "favourite genre Comedy" in doc.text and "platinum" in outputs["payload"]  # what describes the person stays


# -- end to end: the same plants through a real sync, the HTTP API, MCP and LangChain, on every version

def _answers_blob(answers: list[Any]) -> str:
    return "\n".join(a if isinstance(a, str) else json.dumps(a, default=str) for a in answers)


@pytest.mark.parametrize("version", sorted(VERSIONS))
async def test_no_answer_carries_planted_personal_data(version: str, encoder, tmp_path: Path, pg_url: str) -> None:
    from mcp.client.client import Client

    from app.agents.langchain import customer_tools
    from app.agents.mcp_server import build_mcp_server
    from app.config import DatabaseSettings, ServerSettings, Settings, TracardiSettings
    from app.container import Container
    from app.main import create_app
    from tests.tracardi_emulator.app import TracardiEmulator

    emu = TracardiEmulator(version)
    for n, where in enumerate(["trait", "event category", "event free text", "event keyed"]):
        raw, raw_events = planted_profile(f"p-{n}", "1.x", dict.fromkeys(SHAPED, where))  # 1.x is canonical
        emu.seed([raw], raw_events)
    settings = Settings(data_dir=tmp_path, database=DatabaseSettings(url=pg_url), server=ServerSettings(auth=False),
                        tracardi=TracardiSettings(url="http://tracardi", username="admin@profile.ai", password="admin"))
    container = await Container.create(settings, encoder=encoder)
    try:
        transport = httpx.ASGITransport(emu.app)
        result = await container.sync.run(container.source("http://tracardi", transport=transport))
        assert result.embedded == 4, result
        app = create_app(settings, container=container)
        answers: list[Any] = []
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app), base_url="http://localhost") as http:
            hits = (await http.post("/v1/search", json={"query": "customer who wants a call back", "limit": 4})).json()
            answers.append(hits)
            assert len(hits["results"]) == 4
            for n in range(4):
                for path in (f"/v1/profiles/p-{n}", f"/v1/profiles/p-{n}/timeline", f"/v1/profiles/p-{n}/similar"):
                    r = await http.get(path)
                    assert r.status_code == 200, (path, r.text)
                    answers.append(r.json())
            answers.append((await http.get("/")).text)
        tools = container.agent_tools()
        async with Client(build_mcp_server(tools)) as client:
            for name, args in (("search_customers", {"query": "llámame", "limit": 4}),
                               ("get_customer", {"profile_id": "p-2"}),
                               ("similar_customers", {"profile_id": "p-1", "limit": 3})):
                answers.append(tool_text(await client.call_tool(name, args)))
            # what a group has in common, field by field: every field the describe columns hold, and none of them
            # may be a contact detail
            everyone = await container.insights._population()
            fields = sorted([*everyone.numbers, *everyone.categories])
            assert any(f.startswith(("traits.", "data.")) for f in fields)
            answers.append(tool_text(await client.call_tool("describe_customers", {"max_tokens": 10_000})))
            answers.append(tool_text(await client.call_tool("describe_customers", {
                "fields": fields[:50], "max_tokens": 10_000})))
        lc = {t.name: t for t in customer_tools(tools)}
        answers.append(await lc["search_customers"].ainvoke({"query": "comedy fans", "limit": 4}))
        answers.append(await lc["get_customer"].ainvoke({"profile_id": "p-3"}))
        blob = _answers_blob(answers)
        assert not leaks(blob), leaks(blob)
        assert not re.search(r"[\w.]+@[\w.]+\.\w+", blob)
        assert "platinum" in blob  # the descriptive traits are still answered
    finally:
        await container.aclose()

