"""Profiling transparency (GDPR art. 15, 22): what the layer holds and infers about one person, with the reasons,
in the deployment's wording. Everything shown is what the other answers already show (redacted)."""

from __future__ import annotations

from typing import Any

from app.predictions.service import PredictionService
from app.search.service import SearchService
from app.segments.service import SegmentService
from app.writeback.repository import WritebackRepository, writeback_of_profile

WORDS = {
    "en": {"document": "The text the search model read about this customer (contact details and identifiers are never "
                       "included).",
           "segment": "In segment “{name}” ({kind}, {status}): {why}",
           "prediction": "{goal}: {value} (percentile {percentile}, {tier}) by model {model} ({quality}); data "
                         "before {as_of}, horizon {horizon} days; main reasons: {drivers}.",
           "writeback": "Written back to Tracardi (traits.ai): {fields}, status {status}.",
           "none": "Nothing is held about this customer beyond the profile text.",
           "objected": "This customer objected to profiling: left out of segments and predictions."},
    "es": {"document": "El texto que el modelo de búsqueda leyó sobre este cliente (nunca incluye datos de contacto ni "
                       "identificadores).",
           "segment": "En el segmento «{name}» ({kind}, {status}): {why}",
           "prediction": "{goal}: {value} (percentil {percentile}, {tier}) según el modelo {model} ({quality}); datos "
                         "anteriores a {as_of}, horizonte de {horizon} días; motivos principales: {drivers}.",
           "writeback": "Enviado a Tracardi (traits.ai): {fields}, estado {status}.",
           "none": "No se guarda nada sobre este cliente más allá del texto del perfil.",
           "objected": "Este cliente se opuso a la elaboración de perfiles: queda fuera de segmentos y predicciones."},
}


class TransparencyService:
    def __init__(self, search: SearchService, segments: SegmentService, predictions: PredictionService,
                 queue: WritebackRepository, wording: str = "en") -> None:
        self.search, self.segments, self.predictions, self.queue = search, segments, predictions, queue
        self.words = WORDS.get(wording, WORDS["en"])

    async def explain(self, profile_id: str) -> dict[str, Any]:
        card = await self.search.profile(profile_id)  # 404 for an unknown or forgotten person
        pid = card.profile_id
        w = self.words
        plain = [w["document"]]
        objected = await self.predictions.repo.objected(pid)
        if objected:
            plain.append(w["objected"])
        segments = []
        for s in await self.segments.of_profile(pid):
            seg = await self.segments.show(s["segment_id"])
            rule = (seg.rules or {}).get("sql") or {}
            why = seg.description or ", ".join(f["label"] for f in seg.features[:3])
            segments.append({**s, "description": seg.description, "features": seg.features[:5],
                             "rule_sql": rule.get("sql"), "rule_precision": rule.get("precision")})
            plain.append(w["segment"].format(name=seg.name, kind=seg.kind, status=seg.status, why=why))
        cards = {m.model_id: m for m in await self.predictions.models()}
        predictions = []
        for p in (await self.predictions.of_profile(pid)).predictions:
            m = cards.get(p.model_id)
            c = m.card if m else {}
            drivers = ", ".join(str(d.get("label") or d.get("feature")) for d in (p.drivers or [])[:3]) or "–"
            entry = {"goal": p.goal, "model_id": p.model_id, "probability": p.probability, "value": p.value,
                     "percentile": p.percentile, "tier": p.tier, "as_of": p.as_of, "drivers": p.drivers,
                     "model_quality": c.get("quality"), "model_as_of": m.as_of if m else None,
                     "horizon_days": m.horizon_days if m else None, "training_window": c.get("training_snapshot")}
            predictions.append(entry)
            value = p.probability if p.probability is not None else p.value
            plain.append(w["prediction"].format(
                goal=p.goal, value=f"{value:.3g}" if value is not None else "–", percentile=p.percentile, tier=p.tier,
                model=p.model_id, quality=c.get("quality") or "?", as_of=(m.as_of[:10] if m else "?"),
                horizon=m.horizon_days if m else "?", drivers=drivers))
        writeback = await writeback_of_profile(self.queue.pool, "tracardi", pid)
        for item in writeback[:1]:
            plain.append(w["writeback"].format(fields=", ".join(item["fields"]), status=item["status"]))
        if len(plain) == 1:
            plain.append(w["none"])
        return {"profile_id": pid, "asked_id": profile_id, "objected": objected, "document": card.document,
                "segments": segments,
                "predictions": predictions, "writeback": writeback, "plain": plain}
