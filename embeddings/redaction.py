"""Privacy by default: contact details and identifiers never enter documents, payloads or answers.

Three layers, because each alone leaks:
1. `data` (Tracardi's personal-data tree) is read through an ALLOW-list of descriptive fields.
2. Keys (traits, event properties, interests) are split into words, whatever their style (camelCase,
   snake_case, kebab-case, dotted, accents) and dropped when a word or phrase names a contact detail or an
   identifier, in English or Spanish. A bare "name" is personal unless it names a thing (`product.name`).
3. Values are checked for shapes: e-mail (also `jane(at)example(dot)com`), phone numbers (also `612 345 678`,
   `0171/1234567`), IBAN, card numbers, DNI/NIE/CIF, UK NI, SSN, IPv4/IPv6, MAC, UUID, device and CRM ids
   (Android ids, Salesforce ids, `crm-123456`), street addresses (`Calle Mayor 5, 2º B`, `C/ Gran Vía 12`,
   `Carrera 7 # 45-10`, `221B Baker Street`). In structured data a short value with such a shape is
   dropped; free text (four words or more) is kept with the shape masked.
A boolean or a yes/no word never carries a contact detail, so `email_opt_in: true` and
`PhoneService: "Yes"` stay. `allow` adds dotted paths back.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from profiles.words import as_flag, fold, split_camel

# Descriptive parts of Tracardi's `data` (0.8.1+ layout; 0.7/0.8.0 `pii` is mapped into it).
DESCRIPTIVE_DATA = (
    "pii.gender", "pii.language", "pii.education", "pii.civil.status",
    "job.position", "job.type", "job.department", "job.company.size", "job.company.segment",
    "preferences", "loyalty.card.name", "metrics.ltv",
)

# Words that make a key personal on their own (lower case, accents stripped), English then Spanish.
PII_WORDS = frozenset(["email", "emails", "mail", "mailto", "emailaddress", "phone", "phones", "phonenumber", "mobile", "mobilephone", "cell", "cellphone", "telephone", "tel", "fax", "msisdn", "whatsapp", "telegram", "wechat", "viber", "skype", "discord", "twitter", "facebook", "instagram", "linkedin", "tiktok", "snapchat", "address", "addresses", "addr", "street", "streetaddress", "postcode", "postalcode", "zip", "zipcode", "town", "city", "county", "geo", "geolocation", "lat", "lng", "lon", "latitude", "longitude", "coordinates", "gps", "ip", "ipv4", "ipv6", "ipaddress", "clientip", "remoteip", "remoteaddr", "useragent", "firstname", "lastname", "surname", "surnames", "fullname", "givenname", "familyname", "displayname", "nickname", "middlename", "maidenname", "username", "birthday", "birthdate", "dob", "ssn", "nino", "nin", "passport", "driverslicense", "drivinglicence", "licensenumber", "badge", "iban", "bic", "swift", "creditcard", "cardnumber", "cvv", "cvc", "token", "password", "passwd", "pwd", "secret", "apikey", "coupon", "coupons", "identifier", "identifiers", "id", "ids", "uuid", "guid", "pk", "deviceid", "imei", "idfa", "idfv", "gaid", "aaid", "adid", "udid", "macaddress", "fingerprint", "cookie", "cookies", "sessionid", "sfid", "vatnumber", "vatid", "taxid", "tin", "accountnumber", "contact", "contacts", "apellido", "apellidos", "direccion", "direcciones", "domicilio", "calle", "avenida", "codigopostal", "cp", "telefono", "telefonos", "tlf", "tfno", "movil", "celular", "correo", "correos", "correoelectronico", "nacimiento", "fechanacimiento", "fechadenacimiento", "pasaporte", "numerotarjeta", "numerodetarjeta", "contrasena", "usuario", "identificador", "documento", "ciudad", "localidad", "poblacion", "municipio", "nif", "nie", "dni", "cif", "nss", "curp", "rfc", "cuit", "cuil", "rut", "cpf", "cnpj", "cedula", "ruc", "cuentabancaria", "iban", "numerodecuenta", "seguridadsocial", "contacto", "contactos", "identificacion", "telf", "tlfno", "ccc", "cuentacorriente", "matricula", "tarjetacredito", "tarjetadecredito"])
# A bare name word is personal unless a word of the key or of a parent names a thing.
NAME_WORDS = frozenset({"name", "names", "nombre", "nombres"})
THING_WORDS = frozenset(["product", "products", "item", "items", "page", "pages", "category", "categories", "campaign", "campaigns", "plan", "plans", "brand", "brands", "content", "movie", "movies", "film", "films", "title", "article", "articles", "offer", "offers", "event", "events", "store", "stores", "shop", "shops", "course", "courses", "song", "songs", "artist", "artists", "album", "genre", "genres", "book", "books", "sku", "service", "services", "game", "games", "team", "teams", "league", "app", "apps", "tier", "level", "segment", "segments", "list", "lists", "tag", "tags", "feature", "features", "promo", "promotion", "show", "shows", "series", "channel", "channels", "source", "sources", "subscription", "subscriptions", "membership", "program", "programme", "menu", "dish", "restaurant", "hotel", "venue", "destination", "file", "plataforma", "platform", "company", "employer", "organisation", "organization", "job", "department", "producto", "productos", "articulo", "articulos", "categoria", "categorias", "campana", "campanas", "marca", "marcas", "contenido", "pelicula", "peliculas", "titulo", "oferta", "ofertas", "evento", "eventos", "tienda", "tiendas", "curso", "cursos", "cancion", "artista", "libro", "libros", "servicio", "servicios", "juego", "equipo", "nivel", "segmento", "lista", "etiqueta", "promocion", "serie", "canal", "fuente", "suscripcion", "programa", "plato", "empresa", "departamento"])


def key_words(key: str) -> list[str]:
    """`emailAddress` -> [email, address]; `IPAddress` -> [ip, address]; `Dirección_Envío` -> [direccion, envio]."""
    return [w for w in re.split(r"[^a-z0-9]+", split_camel(fold(key)).lower()) if w]


def _word_is_pii(word: str) -> bool:
    return word in PII_WORDS or word.rstrip("0123456789") in PII_WORDS  # address1, phone2


def segment_is_pii(segment: str, parents: Iterable[str] = ()) -> bool:
    words = key_words(segment)
    if any(_word_is_pii(w) for w in words):
        return True
    # phrases written as separate words: e + mail, first + name, codigo + postal, fecha de nacimiento
    for size in (2, 3, 4):
        if any(_word_is_pii("".join(words[i:i + size])) for i in range(len(words) - size + 1)):
            return True
    if any(w in NAME_WORDS for w in words):
        context = set(words) | {w for p in parents for w in key_words(p)}
        return not (context & THING_WORDS)
    return False


_DIGITS = b"0123456789"
_LOWER = b"abcdefghijklmnopqrstuvwxyz"
_UPPER = _LOWER.upper()


def _view(*maps: tuple[bytes, bytes], delete: bytes = b"") -> tuple[bytes, bytes]:
    """A translation table sending each `maps` pair's bytes onto its one byte (the rest unchanged)."""
    src = b"".join(chars for chars, _ in maps)
    return bytes.maketrans(src, b"".join(to * len(chars) for chars, to in maps)), delete


# A text seen through character classes: a shape's need is a substring one of these views must contain for the
# shape's gate to match (so for the shape to match), found by `in` in well under a microsecond where a regex
# gate scans a document in 5-25 us.
VIEWS: dict[str, tuple[bytes, bytes]] = {
    "digits": _view((_DIGITS, b"0"), (b"_", b"-")),
    "digit runs": _view((_DIGITS, b"0"), delete=b" -"),  # the separators \d[ -]?\d may put between digits
    "phone": _view((_DIGITS + b" ().-/", b"0")),
    "hex": _view((_DIGITS + b"abcdefABCDEF", b"h"), (b":", b"-")),
    "letters digits": _view((_LOWER + _UPPER, b"a"), (_DIGITS, b"0")),
    "alphanumeric": _view((_LOWER + _UPPER + _DIGITS, b"a")),
    "lower": (bytes.maketrans(_UPPER, _LOWER), b""),
}


_WORDS_VIEW = bytes(b if chr(b).isalnum() or b == ord("_") else ord(" ") for b in range(128)).lower() + b" " * 128
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
# the only characters past ASCII that a gate's classes match, besides Unicode digits: these four match ASCII
# letters under IGNORECASE (tests/embeddings/test_redaction_gates.py checks every code point)
_FOLDS_TO_ASCII = frozenset("\u0130\u0131\u017f\u212a")


class AsciiViews:
    """The views of one text as ASCII, each made when first asked. Characters past ASCII become "?", in no view's
    classes; a text where such a character could be part of a match (a Unicode digit, a letter that folds to an
    ASCII one) has no views (`of` is None) and keeps the regex gates."""

    def __init__(self, raw: bytes) -> None:
        self._raw = raw
        self._made: dict[str, bytes] = {}
        self._words: frozenset[bytes] | None = None

    @classmethod
    def of(cls, text: str) -> AsciiViews | None:
        if text.isascii():
            return cls(text.encode("ascii"))
        foreign = "".join(_NON_ASCII.findall(text))  # accents in Spanish words: a few characters a document
        if any(c.isdecimal() for c in foreign) or not _FOLDS_TO_ASCII.isdisjoint(foreign):
            return None
        return cls(text.encode("ascii", "replace"))

    def holds(self, view: str, needles: tuple[bytes, ...]) -> bool:
        seen = self._made.get(view)
        if seen is None:
            table, delete = VIEWS[view]
            seen = self._made[view] = self._raw.translate(table, delete)
        return any(n in seen for n in needles)

    def words(self) -> frozenset[bytes]:
        """The text's words in lower case: runs of ASCII letters, digits and "_" (every other character, those past
        ASCII included, parts them), so a word a pattern takes whole between `(?<!\w)` and `(?!\w)` is one."""
        if self._words is None:
            self._words = frozenset(self._raw.translate(_WORDS_VIEW).split())
        return self._words


@dataclass(frozen=True)
class Shape:
    """One kind of personal value: how it looks, how free text shows it once masked."""

    name: str
    pattern: re.Pattern[str]
    mask: str
    check: Callable[[str], bool] | None = None
    # a necessary condition, found fast: patterns that open with a look-behind or `\b` get no first-character
    # scan from `re` and cost ~20 us on a document that cannot hold them; the gate starts with a character class
    gate: re.Pattern[str] | None = None
    # a necessary condition of the gate on an ASCII text: one of these substrings in that view (see VIEWS)
    ascii_need: tuple[str, tuple[bytes, ...]] | None = None
    # a necessary condition on an ASCII text: one of these whole words in it (see AsciiViews.words)
    ascii_words: frozenset[bytes] | None = None

    def spans(self, text: str, views: AsciiViews | None = None) -> list[tuple[int, int]]:
        """Where the shape is in `text`; `views` (of this very text) let most texts skip the regexes."""
        if views is not None and self.ascii_need is not None and not views.holds(*self.ascii_need):
            return []
        if views is not None and self.ascii_words is not None and views.words().isdisjoint(self.ascii_words):
            return []
        if self.gate is not None and self.gate.search(text) is None:
            return []
        return [m.span() for m in self.pattern.finditer(text) if self.check is None or self.check(m.group(0))]


def _digits(n: int) -> Callable[[str], bool]:
    return lambda s: sum(c.isdigit() for c in s) >= n


def _ip(s: str) -> bool:
    try:
        ipaddress.ip_address(s)
    except ValueError:
        return False
    return True


_I = re.IGNORECASE
# Street words that come before a street's name (Spanish, Catalan, Galician, Portuguese) and after it (English),
# each taken whole; then the words the ASCII word view shows them as (a character past ASCII parts words there).
_STREET_BEFORE = (r"(?:calle|avda|avd|avenida|av|plaza|pza|pl|paseo|camino|carretera|ctra|ronda|traves[ií]a|travessa|"
                  r"glorieta|rambla|callej[oó]n|pasaje|carrera|cra|cl|diagonal|transversal|carrer|avinguda|plaça|"
                  r"passeig|r[uú]a|praça)(?!\w)\.?|c/|p[º°](?!\w)")
_STREET_BEFORE_WORDS = frozenset(b"calle avda avd avenida av plaza pza pl paseo camino carretera ctra ronda traves "
                                 b"travesia travessa glorieta rambla callej callejon pasaje carrera cra cl diagonal "
                                 b"transversal carrer avinguda pla passeig rua r pra c p".split())
_STREET_AFTER = (r"street|st|road|rd|avenue|ave|lane|ln|drive|dr|boulevard|blvd|way|court|ct|place|pl|square|sq|"
                 r"terrace|close|crescent|highway|hwy|parkway|pkwy|gardens|grove|row|mews")
# Order matters: the most specific first, so an IBAN is not half-masked as a phone number.
SHAPES: tuple[Shape, ...] = (
    # Linear time on any input (anyone can send an event): a repeated class starts only where its run starts
    # (the look-behind), and runs are taken whole (possessive `++`, `*+`), so no start position rescans a run.
    Shape("email", re.compile(r"(?<![\w.+-])[\w.+-]++ ?@ ?[\w-]++(?: ?\. ?[\w-]++)+"), "[e-mail]",
          gate=re.compile(r"@")),
    Shape("email", re.compile(r"(?<![\w.+-])[\w.+-]++\s*+[(\[{<]\s*+(?:at|arroba)\s*+[)\]}>]\s*+[\w-]++"
                              r"(?:\s*+(?:[(\[{<]\s*+(?:dot|punto)\s*+[)\]}>]|\.)\s*+[\w-]++)+", _I), "[e-mail]",
          gate=re.compile(r"[(\[{<]\s*(?:at|arroba)", _I), ascii_need=("lower", (b"(", b"[", b"{", b"<"))),
    Shape("email", re.compile(r"(?<![\w.+-])[\w.+-]++\s++(?:at|arroba)\s++[\w-]++(?:\s++(?:dot|punto)\s++[a-z]{2,}+)+\b",
                              _I), "[e-mail]",
          gate=re.compile(r"\s(?:dot|punto)\s", _I), ascii_need=("lower", (b"dot", b"punto"))),
    Shape("uuid", re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", _I), "[id]",
          gate=re.compile(r"[0-9a-f]{4}-[0-9a-f]{4}-", _I), ascii_need=("hex", (b"hhhh-hhhh-",))),
    Shape("iban", re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?\d[A-Z0-9]{0,2})?\b", _I), "[iban]",
          _digits(10),
          gate=re.compile(r"[a-z]{2}\d{2}", _I), ascii_need=("letters digits", (b"aa00",))),
    Shape("mac", re.compile(r"\b[0-9a-f]{2}(?:[:-][0-9a-f]{2}){5}\b", _I), "[id]",
          gate=re.compile(r"[0-9a-f]{2}[:-][0-9a-f]{2}[:-][0-9a-f]{2}", _I), ascii_need=("hex", (b"hh-hh-hh",))),
    Shape("ip", re.compile(r"(?<![\w:.])(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(?![\w:])", _I), "[ip]", _ip,
          gate=re.compile(r":[0-9a-f]{0,4}:", _I)),
    Shape("ip", re.compile(r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\w]|\.\d)"), "[ip]", _ip,
          gate=re.compile(r"\d\.\d{1,3}\.\d{1,3}\.\d")),
    Shape("national id", re.compile(r"\b\d{8} ?-?[A-Z]\b", _I), "[id]",
          gate=re.compile(r"\d{8}"), ascii_need=("digits", (b"0" * 8,))),  # DNI
    Shape("national id", re.compile(r"\b[XYZ] ?-?\d{7} ?-?[A-Z]\b", _I), "[id]",
          gate=re.compile(r"\d{7}"), ascii_need=("digits", (b"0" * 7,))),  # NIE
    Shape("national id", re.compile(r"\b[ABCDEFGHJNPQRSUVW]-?\d{7}-?[0-9A-J]\b", _I), "[id]",
          gate=re.compile(r"\d{7}"), ascii_need=("digits", (b"0" * 7,))),  # CIF
    Shape("national id", re.compile(r"\b[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b"), "[id]",
          gate=re.compile(r"\d{2} ?\d{2} ?\d{2}"), ascii_need=("digit runs", (b"0" * 6,))),  # UK NI
    Shape("national id", re.compile(r"\b\d{3}-\d{2}-\d{4}\b"), "[id]",
          gate=re.compile(r"\d{3}-\d{2}-\d{4}"), ascii_need=("digits", (b"000-00-0000",))),  # US SSN
    Shape("device id", re.compile(r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{16,}\b", _I), "[id]",
          gate=re.compile(r"[0-9a-f]{16}", _I), ascii_need=("hex", (b"h" * 16,))),
    # CRM/Salesforce-style record ids: 12+ letters and digits mixed, at least three digits
    Shape("record id", re.compile(r"\b(?=[a-z0-9]*\d[a-z0-9]*\d[a-z0-9]*\d)(?=[a-z0-9]*[a-z])[a-z0-9]{12,}\b", _I),
          "[id]",
          gate=re.compile(r"[a-z0-9]{12}", _I), ascii_need=("alphanumeric", (b"a" * 12,))),
    Shape("record id", re.compile(r"\b[a-z]{2,12}[-_]\d{5,}\b", _I), "[id]",
          gate=re.compile(r"[-_]\d{5}"), ascii_need=("digits", (b"-00000",))),
    Shape("number", re.compile(r"\b(?:\d[ -]?){12,19}\b"), "[number]",
          gate=re.compile(r"\d(?:[ -]?\d){11}"), ascii_need=("digit runs", (b"0" * 12,))),  # cards, accounts
    # A street address: a street word, a name that starts with a capital and a house number ("Calle Mayor 5",
    # "C/ Gran Vía 12", "Avda. de la Constitución 1", "Calle 72 # 10-34"), or a number, one to four capitalised
    # words and a street word ("221B Baker Street", "1600 Pennsylvania Avenue"). The capital and the number are
    # what tell an address from "un paseo de 30 minutos" or "Calle 13"; the name is at most 40 characters and the
    # words are taken whole, so every start costs a bounded scan.
    Shape("address", re.compile(
        rf"(?<!\w)(?i:{_STREET_BEFORE})\s*+(?:(?:de|del|de la|de las|de los|la|el|do|da|dos|das|of|the)\s++)?"
        r"(?:[A-ZÁÉÍÓÚÑÜÇ][^\d\n,;:()]{0,40}?,?\s*(?:(?i:n[º°o]|num|núm|número)\.?\s*)?\d{1,4}"
        r"|\d{1,3}[A-Z]?\s*(?:#|(?i:n[º°o]|no)\.?)\s*\d{1,3}(?:\s*-\s*\d{1,3})?)(?!\d)"
        # then a floor and door ("3º B") and a postcode with its town ("28013 Madrid"), if they follow
        r"(?:\s*+,?\s*+(?:\d{1,2}\s*[º°ª](?:\s*(?:[A-Za-z](?!\w)|(?i:izq|izda|izquierda|dcha|dch|derecha)\.?))?"
        r"|\d{5}(?!\d)(?:\s++[A-ZÁÉÍÓÚÑ][\w]*+){0,2}))*+"),
        "[address]", ascii_words=_STREET_BEFORE_WORDS),
    Shape("address", re.compile(
        rf"(?<![\w.,/-])\d{{1,5}}[A-Za-z]?,?\s++(?:[A-Z][\w'.-]*+\s++){{1,4}}(?i:{_STREET_AFTER})\b"
        # then a quarter ("NW"), a town, a state and a ZIP code ("Springfield, IL 62704"), if they follow
        r"(?:\s++(?:N|S|E|W|NE|NW|SE|SW)\b)?"
        r"(?:(?:,?\s++[A-Z]\w*+(?:\s++[A-Z]\w*+)?)?,?\s++(?:[A-Z]{2}\s++)?\d{5}(?:-\d{4})?(?!\d))?"),
        "[address]", gate=re.compile(r"\d[A-Za-z]?\s+[A-Z]"),
        ascii_words=frozenset(w.encode() for w in _STREET_AFTER.split("|"))),
    # nine or more digits in one run of phone punctuation: a phone number, not a year or a score
    Shape("phone", re.compile(r"(?<![\w/])\+?\(?\d[\d ().\-/]{6,}\d(?![\w/])"), "[phone]", _digits(9),
          gate=re.compile(r"\d[\d ().\-/]{6,}\d"), ascii_need=("phone", (b"0" * 8,))),
)
MAX_VALUE_CHARS = 2_000  # a structured value is cut to this before it is scanned or stored (documents cut it anyway)
MAX_TEXT_CHARS = 20_000  # free text (a whole document) is cut to this before it is scanned
_OBFUSCATION = re.compile(r"\b(?:at|arroba)\b", _I)


def _may_hold_pii(text: str) -> bool:
    # every shape needs a digit, an @ or a spelled-out "at": most strings skip the regexes entirely
    return "@" in text or any(c.isdigit() for c in text) or _OBFUSCATION.search(text) is not None


def find_shapes(text: str) -> list[str]:
    """The names of the personal-value shapes found in `text` (empty when none)."""
    text = text[:MAX_TEXT_CHARS]
    if not _may_hold_pii(text):
        return []
    views = AsciiViews.of(text)
    return [s.name for s in SHAPES if s.spans(text, views)]


class _Memo(dict[str, bool]):
    """A bounded memo of answers about short strings: keys and values repeat across a read's events (the same
    `product.category`, the same "SKU-1332"), so each is judged once. Emptied when full, so a flood of distinct
    strings from an attacker costs what it would without the memo."""

    def __init__(self, size: int = 65_536) -> None:
        super().__init__()
        self.size = size

    def remember(self, key: str, answer: bool) -> bool:
        if len(self) >= self.size:
            self.clear()
        self[key] = answer
        return answer


MEMO_CHARS = 256  # longer values are rarely repeated: judged each time


class Redactor:
    def __init__(self, allow: Iterable[str] = ()) -> None:
        self.allow = tuple(allow)
        self._pii_keys = _Memo()
        self._shaped = _Memo()

    def has_shape(self, value: str) -> bool:
        """Whether `value` holds a personal-value shape (memoised for short values)."""
        if len(value) > MEMO_CHARS:
            return bool(find_shapes(value))
        known = self._shaped.get(value)
        return known if known is not None else self._shaped.remember(value, bool(find_shapes(value)))

    def _allowed(self, path: str) -> bool:
        return any(path == a or path.startswith(a + ".") for a in self.allow)

    def key_is_pii(self, path: str) -> bool:
        """Whether any part of a dotted key path names a contact detail or an identifier (memoised)."""
        known = self._pii_keys.get(path)
        if known is not None:
            return known
        parts = path.split(".")
        answer = not self._allowed(path) and any(segment_is_pii(p, parts[:i]) for i, p in enumerate(parts))
        return answer if len(path) > MEMO_CHARS else self._pii_keys.remember(path, answer)

    def clean(self, value: Any, path: str = "") -> Any:
        """A copy of `value` without PII keys or PII-looking values (None when nothing is left)."""
        if isinstance(value, dict):
            out = {}
            for k, v in value.items():
                sub = f"{path}.{k}" if path else str(k)
                # a boolean or a yes/no word carries no contact detail, whatever its key (`PhoneService: "Yes"`)
                if self.key_is_pii(sub) and as_flag(v) is None:
                    continue
                if isinstance(v, int | float):  # most leaves: kept as they are, without a call
                    out[str(k)] = v
                    continue
                cleaned = self.clean(v, sub)
                if cleaned not in (None, {}, [], ""):
                    out[str(k)] = cleaned
            return out or None
        if isinstance(value, list):
            items = [self.clean(v, path) for v in value]
            items = [v for v in items if v not in (None, {}, [], "")]
            return items or None
        if isinstance(value, str):
            value = value[:MAX_VALUE_CHARS]  # attacker-sized values are cut before anything scans them
            if not self.has_shape(value) or self._allowed(path):
                return value
            # free text keeps its meaning ("asked for a call back at [phone]"); a short value is the detail
            return self.scrub_text(value) if len(value.split()) >= 4 else None
        return value

    def describing_data(self, data: dict[str, Any]) -> dict[str, Any]:
        """The descriptive subset of `data` (gender, language, job, preferences...), plus allowed paths."""
        out: dict[str, Any] = {}
        for path in DESCRIPTIVE_DATA + self.allow:
            parts = path.split(".")
            if parts[0] == "data":
                parts = parts[1:]
            cur: Any = data
            for p in parts:
                cur = cur.get(p) if isinstance(cur, dict) else None
            if cur in (None, "", [], {}):
                continue
            cleaned = cur if self._allowed(path) else self.clean(cur, "")
            if cleaned in (None, "", [], {}):
                continue
            node = out
            for p in parts[:-1]:
                node = node.setdefault(p, {})
            node[parts[-1]] = cleaned
        return out

    def scrub_text(self, text: str) -> str:
        """Mask anything in free text that looks like a contact detail or an identifier (text past
        MAX_TEXT_CHARS is cut)."""
        text = text[:MAX_TEXT_CHARS]
        if not _may_hold_pii(text):
            return text
        views = AsciiViews.of(text)
        for shape in SHAPES:
            spans = shape.spans(text, views)
            for start, end in reversed(spans):
                text = text[:start] + shape.mask + text[end:]
            if spans:  # the text changed: views of the new one
                views = AsciiViews.of(text)
        return text
