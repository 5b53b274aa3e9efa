"""PERSON."""

from __future__ import annotations

import functools
import re
import unicodedata

import numpy as np
import polars as pl
import pyarrow as pa

from ftdata_assets.transforms.pii.base import (
    _CAND,
    LEXICON_PATH,
    _conform,
    _typed,
)

# --------------------------------------------------------------------------------------------------------
# PERSON
# --------------------------------------------------------------------------------------------------------

_GREETINGS_INTL = [
    # greetings and forms of address of Cyrillic, Greek, Turkish, Nordic, Baltic, Central European users
    "привет", "здравствуйте", "здравствуй", "уважаемый", "уважаемая", "дорогой", "дорогая", "добрый",
    "вітаю", "привіт", "шановний", "шановна", "дорогий", "здрасти", "здравей", "здравейте", "уважаеми",
    "γεια", "γειά", "αγαπητέ", "αγαπητή", "αξιότιμε", "αξιότιμη", "merhaba", "sayın", "selam", "hei",
    "terve", "moi", "hejsan", "szia", "sziasztok", "tisztelt", "kedves", "ahoj", "dobrý", "dobry", "vážený",
    "vážená", "zdravo", "bok", "pozdravljeni", "labas", "sveiki", "gerbiamas", "gerbiama", "tere", "hallå",
    "goddag", "godmorgen", "bună", "stimate", "stimată", "dragă", "prezado", "prezada",
    "geachte", "beste", "sehr", "geehrte", "geehrter", "szanowny", "szanowna", "witam", "witaj",
    "morning", "afternoon", "evening", "buenos", "buenas", "bonsoir", "guten", "welcome", "bienvenido",
    "bienvenida", "bienvenue", "willkommen", "benvenuto", "benvenuta",
]  # fmt: skip
"""Words right before a name in a greeting or an address ("Здравствуйте, Олег", "Sayın Yılmaz")."""
_SIGNOFFS_INTL = [
    "уважением", "повагою", "уважение", "εκτίμηση", "φιλικά", "saygılarımla", "saygılar", "üdvözlettel",
    "pozdravem", "pozdrav", "pozdravy", "lp", "pagarbiai", "cieņu", "lugupidamisega", "ystävällisin",
    "hälsning", "venlig", "vennlig", "mfg", "lg", "vg", "salutări", "cumprimentos", "groetjes", "saludos",
]  # fmt: skip
"""Sign-off words of more languages: a name on the line after them signs the message."""
_CONTEXT_ONLY = ["tell", "ask", "call", "email", "text", "thank", "meet", "send", "invite", "remind", "ping",
                 "please", "congratulate", "welcome", "pay", "cc", "good", "morning", "afternoon", "evening",
                 "night", "kind", "warm", "warmest", "many", "best", "regards"]  # fmt: skip
"""Imperatives and greeting words that are surnames somewhere ("Tell", "Ask", "Good") but start a request
or a greeting before the name: context, never part of it."""

_TOKEN = r"[\p{L}\p{M}]+(?:['’][\p{L}\p{M}]{2,}|-[\p{L}\p{M}]+)*|[0-9]+|[^\s\p{L}\p{M}0-9]"

_STOP = [
    # honorifics, greetings, sign-offs and chat words: context, never part of a name
    "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "professor", "sir", "dame", "lady", "lord", "mister",
    "madam", "madame", "mme", "mlle", "herr", "frau", "señor", "señora", "sra", "sr", "jr", "rev", "fr",
    "capt", "captain", "sgt", "officer", "detective", "judge", "coach", "uncle", "aunt", "auntie",
    "grandma", "grandpa", "saint", "st",
    "hi", "hello", "hey", "dear", "thanks", "thank", "regards", "cheers", "sincerely", "best", "yours",
    # greetings, thanks and sign-offs of the languages users write in
    "hola", "bonjour", "salut", "hallo", "moin", "servus", "ciao", "buongiorno", "olá", "oi", "cześć",
    "hej", "hoi", "gracias", "merci", "danke", "grazie", "obrigado", "obrigada", "dziękuję", "bedankt",
    "tack", "kiitos", "saludos", "atentamente", "cordialement", "grüße", "gruß", "pozdrawiam", "groeten",
    "saluti", "abraços", "atenciosamente", "terveisin", "hälsningar", "mvh", "hilsen", "querido", "querida",
    "estimado", "estimada", "cher", "chère", "liebe", "lieber", "beste", "drogi", "droga",
    *_GREETINGS_INTL, *_SIGNOFFS_INTL,
    "ok", "okay", "yes", "no", "please", "sorry", "lol", "btw", "fyi", "re", "fwd", "cc", "bcc", "attn",
    "i", "im", "ive", "id", "ill", "ps", "pm", "am", "etc", "vs", "via", "eg", "ie", "hmm", "wow", "yeah",
    # placeholders of person fields ("Assignee: Unassigned", "Owner: TBD")
    "unassigned", "tbd", "tba", "anonymous", "anon", "nobody", "someone", "everyone", "admin", "sysadmin",
    # function words (some are surnames somewhere in Faker's lists: "The", "An", "Do")
    "the", "a", "an", "and", "or", "but", "if", "of", "in", "on", "at", "to", "for", "with", "by", "from",
    "as", "is", "are", "was", "were", "be", "been", "this", "that", "these", "those", "it", "its", "we",
    "you", "he", "she", "they", "me", "my", "our", "your", "his", "her", "their", "them", "us", "not",
    "so", "do", "does", "did", "have", "has", "had", "what", "which", "who", "when", "where", "why", "how",
    "all", "any", "some", "each", "every", "there", "here", "then", "than", "also", "just", "only", "very",
    "too", "about", "into", "over", "after", "before", "up", "down", "out", "off", "again", "let",
    # calendar (April, May, June, August, Jan are names too: see _AMBIGUOUS)
    "january", "february", "march", "july", "september", "october", "november", "december",
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    "feb", "mar", "apr", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    "mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun",
    "street", "avenue", "road", "boulevard", "highway", "parkway", "drive", "suite",
    "god", "jesus", "christ", "allah", "buddha", "santa", "christmas", "easter", "halloween",
    "thanksgiving", "ramadan", "diwali", "hanukkah",
    # products and companies that are also in name lists (names like Jordan, Lee, Martin are left alone)
    "google", "microsoft", "apple", "amazon", "excel", "word", "python", "java", "javascript", "linux",
    "windows", "github", "gitlab", "slack", "zoom", "teams", "chatgpt", "openai", "claude", "gemini",
    "siri", "alexa", "cortana", "tesla", "iphone", "android", "docker", "kubernetes", "aws", "azure",
    "postgres", "react", "node", "rust", "swift", "kotlin", "scala", "perl", "dart",
    "rails", "django", "flask", "spring", "jupyter", "pandas", "polars", "numpy", "jenkins", "ansible",
    "terraform", "kafka", "spark", "hadoop", "redis", "mongo", "mongodb", "mysql", "oracle", "cisco",
    "dell", "lenovo", "samsung", "sony", "nokia", "ford", "toyota", "honda", "porsche",
    "ferrari", "lamborghini", "chevrolet", "chevy", "nike", "adidas", "walmart", "target", "costco",
    "netflix", "spotify", "uber", "lyft", "airbnb", "paypal", "venmo", "stripe", "visa", "mastercard",
    "amex", "wells", "fargo", "citi", "barclays", "hsbc", "fedex", "ups", "dhl", "usps",
    "facebook", "meta", "instagram", "whatsapp", "twitter", "tiktok", "youtube", "reddit", "linkedin",
    "wikipedia", "outlook", "gmail", "yahoo", "bing", "safari", "firefox", "chrome", "edge", "opera",
    "mac", "macos", "ios", "ipad", "kindle", "echo", "pixel", "galaxy", "surface", "xbox", "playstation",
    "nintendo", "lego", "disney", "marvel", "pokemon", "starbucks", "mcdonald", "subway",
    "jeep", "dodge", "cadillac", "buick", "mercury", "jaguar", "bentley", "rolls", "royce", "aston",
    "gucci", "prada", "armani", "chanel", "hermes", "dior", "versace", "hilfiger", "wrangler", "zara",
    "ikea", "bosch", "siemens", "philips", "canon", "nikon", "kodak", "fuji", "casio", "seiko", "rolex",
    "omega", "tissot", "cartier", "debian", "ubuntu", "gnu", "gnome", "pam", "dataproc", "mako", "graphql",
    "english", "french", "german", "spanish", "italian", "chinese", "japanese", "korean", "russian",
    "arabic", "hindi", "portuguese", "dutch", "polish", "turkish", "greek", "hebrew", "latin",
    "american", "british", "european", "african", "asian", "canadian", "australian", "indian", "mexican",
    "north", "south", "east", "west", "northern", "southern", "eastern", "western", "central", "new",
    "san", "santa", "los", "las", "el", "la", "le", "de", "del", "van", "von", "der", "den", "da", "di",
]  # fmt: skip
_STOP_SET = frozenset(_STOP)
# particles that may sit inside a name ("Ludwig van Beethoven", "Maria de la Cruz") are not run breakers
# when lowercase; capitalized at a run start they are context only (in _STOP above)

_AMBIGUOUS = ["april", "may", "june", "august", "jan", "jun", "summer", "autumn", "winter", "dawn", "ruby"]
"""Names that are also months, seasons...: like a common word, they need a surname or context."""
_PARTICLES = ["van", "von", "de", "da", "di", "del", "della", "der", "den", "du", "la", "le", "bin", "al",
              "ter", "ten", "dos", "das", "y"]  # fmt: skip
_WEAK_PERSON_PREV1 = [
    "says", "said", "writes", "wrote", "asks", "replied", "adds", "added", "explains", "explained", "per",
    "ask", "asked", "tell", "told", "met", "emailed", "texted", "messaged", "pinged", "cc", "thank",
    "congratulate", "congrats", "remind", "invite", "invited", "hired", "fired", "introduce", "introducing",
    "married", "son", "daughter", "wife", "husband", "brother", "sister", "mom", "dad", "mother", "father",
    "friend", "colleague", "boss", "coworker", "co-worker", "neighbor", "neighbour", "landlord", "ex",
    "email", "e-mail", "call", "ping", "message", "contact", "cc'd", "thanked", "paid", "owe",
    "partner", "girlfriend", "boyfriend", "fiancé", "fiance", "fiancée", "roommate", "cousin", "nephew",
    "niece", "grandson", "granddaughter", "aunt", "uncle", "manager", "assistant", "teammate", "mentor",
]  # fmt: skip
_WEAK_PERSON_PREV2 = [
    "spoke with", "spoke to", "talked to", "talk to", "met with", "meeting with", "call with", "chat with",
    "speak to", "speak with", "according to", "email to", "reply to", "send to", "sent to", "thanks to",
]  # fmt: skip

_HONORIFICS = [
    "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "professor", "sir", "dame", "lady", "lord", "mister",
    "madam", "madame", "mme", "mlle", "herr", "frau", "señor", "señora", "sra", "sr", "rev", "fr", "capt",
    "captain", "sgt", "officer", "detective", "judge", "coach", "uncle", "aunt", "auntie", "grandma",
    "grandpa", "nurse", "agent", "president", "senator", "governor", "mayor", "chancellor",
]  # fmt: skip
_STRONG_PREV1 = ["hola", "bonjour", "salut", "hallo", "moin", "servus", "ciao", "buongiorno", "olá", "oi",
                 "cześć", "hej", "hoi", "gracias", "merci", "danke", "grazie", "obrigado", "obrigada",
                 "dziękuję", "bedankt", "tack", "kiitos", "querido", "querida", "estimado", "estimada", "cher",
                 "chère", "liebe", "lieber", "drogi", "droga", "llamo", "chiamo", "m'appelle", "m’appelle",
                 "heiße", "heisse", "soy", "sono", "jestem", "nazywam",
                 "dear", "named", "signed", "hi", "hello", "hey", "thanks", "thx", "ty", "greetings",
                 "dearest", "im", "hiya", "howdy", "bye", "goodbye", "congratulations",
                 *_GREETINGS_INTL]  # fmt: skip
_ORGS = [
    "morgan stanley", "goldman sachs", "charles schwab", "wells fargo", "dow jones", "louis vuitton",
    "ralph lauren", "calvin klein", "tommy hilfiger", "hugo boss", "estee lauder", "jack daniels",
    "johnson controls", "kraft heinz", "lockheed martin", "northrop grumman", "merrill lynch",
    "arthur andersen", "warner bros", "walt disney", "mary kay", "ben jerry", "dolce gabbana",
    "travis ci", "jenkins x", "ruby rails", "hugging face", "ernst young", "morgan chase",
    # brands, media and fictional characters named like people
    "mercedes benz", "mercedes-benz", "harley davidson", "harley-davidson", "alfa romeo", "aston martin",
    "rolls royce", "rolls-royce", "john deere", "johnnie walker", "jack daniel", "dr pepper", "tim hortons",
    "marc jacobs", "michael kors", "kate spade", "tory burch", "christian dior", "giorgio armani",
    "yves saint laurent", "coco chanel", "ray ban", "ray-ban", "washington post", "harry potter",
    "sherlock holmes", "peter pan", "mickey mouse", "donald duck", "ronald mcdonald", "santa claus",
    "wendy", "carl jr", "ben jerry", "jenny craig", "betty crocker", "uncle ben", "sam adams", "jim beam",
]  # fmt: skip
_ORG_NEXT = ["secret", "inc", "ltd", "llc", "gmbh", "corp", "corporation", "company", "co", "group", "bank",
             "university", "college", "school", "hospital", "foundation", "institute", "stadium", "arena",
             "airport", "station", "hotel", "museum", "park", "bridge", "street", "avenue", "road", "square",
             "hall", "center", "centre", "library", "church", "cathedral", "mall", "plaza", "tower", "award",
             "prize", "syndrome", "disease", "effect", "law", "theorem", "equation", "brothers", "bros",
             "foods", "motors", "airlines", "pharmaceuticals", "studios", "records", "publishing", "river",
             "lake", "mountain", "mountains", "valley", "island", "islands", "bay", "sea", "ocean", "falls",
             "canyon", "county", "city", "state", "province", "district", "region", "desert", "beach",
             "peak"]  # fmt: skip
"""A capitalized word after a name-like run that makes it an organisation, a place or a thing."""
_PERSON_VERBS = ["said", "says", "wrote", "writes", "asked", "asks", "told", "tells", "replied", "texted",
                 "emailed", "called", "phoned", "thinks", "thought", "agreed", "suggested", "promised", "mentioned",
                 "explained", "complained", "apologized", "apologised", "confirmed", "approved", "signed",
                 "joined", "lives", "lived", "wants", "wanted", "feels", "felt", "forgot", "remembered",
                 "recommended", "prefers", "loves", "hates", "likes", "knows", "met", "married", "smiled",
                 "laughed", "cried", "shouted", "whispered"]  # fmt: skip
"""Verbs after a capitalized word that make it a person ("Tavita said", not "Docker said": a product)."""
_LEAD_VERBS = ["can", "could", "would", "should", "does", "did", "has", "have", "might", "shall", "must",
               "tell", "ask", "call", "email", "text", "thank", "meet", "send", "invite", "remind", "let", "is",
               "was", "are", "please", "congratulate", "welcome", "pay", "cc", "ping"]  # fmt: skip
"""Sentence-initial words that are names in some list ("Can", "Will", "Ask") but here start a question or
a request before the name."""
_PLACE_LAST = ["river", "mountain", "mountains", "valley", "island", "islands", "sea", "ocean", "falls", "canyon",
               "county", "province", "district", "region", "desert", "beach", "street", "avenue", "road",
               "stadium", "arena", "airport", "station", "hotel", "museum", "university", "college", "hospital",
               "bridge", "tower", "cathedral", "church", "mall", "plaza", "boulevard"]  # fmt: skip
"""A run ending in one of these (a name in some list too: "River", "Street") is a place or a building."""
_PRODUCTS = _STOP[_STOP.index("google") : _STOP.index("english")]
"""Products and companies: a name listed with one is one too ("We use Jenkins and Travis for CI")."""
_LIST_SEPS = [",", "and", "or", "&", "und", "et", "y", "e", "i", "og", "och", "ja", "en", "oraz"]
"""Joins names in a list ("Anna, Piotr and Kenji"): a run next to an accepted name through one is a name."""
_LABELS = [
    "attendees", "participants", "invitees", "guests", "team", "members", "speakers", "people", "authors",
    "contributors", "assigned", "assignees", "owners", "reviewers", "signatories", "recipients",
    "nombre", "apellido", "apellidos", "nom", "prénom", "nome", "cognome", "sobrenome", "naam", "achternaam",
    "voornaam", "vorname", "nachname", "imię", "nazwisko", "namn", "efternamn", "nimi", "sukunimi",
    "given name", "family name", "full name", "customer name", "account name", "contact name",
    "name", "from", "to", "cc", "bcc", "signed", "contact", "customer", "patient", "client", "user",
    "employee", "author", "owner", "tenant", "applicant", "recipient", "sender", "attendee", "guest",
    "student", "teacher", "manager", "agent", "rep", "representative", "caller", "driver", "by", "attn",
    "attention", "assignee", "reporter", "reviewer", "approver", "requester", "candidate", "member",
    "passenger", "beneficiary", "holder", "cardholder", "account holder", "full name", "first name",
    "last name", "surname", "contact person", "emergency contact", "signature", "witness",
]  # fmt: skip
_SIGNOFFS = [
    "saludos", "atentamente", "cordialement", "grüße", "grüßen", "gruß", "pozdrawiam", "pozdrowienia",
    "groeten", "groet", "saluti", "abraços", "atenciosamente", "salutations", "terveisin", "hälsningar",
    "mvh", "hilsen", "obrigado", "obrigada", "gracias", "merci", "danke", "grazie", "dziękuję",
    "regards", "thanks", "cheers", "sincerely", "best", "love", "yours", "wishes", "rgds", "thx",
    "respectfully", "faithfully", "truly", "xoxo", "warmly", "cordially", "ty", "br", "kind",
    *_SIGNOFFS_INTL,
]  # fmt: skip
_WEAK_PREV1 = [
    "ask", "asked", "tell", "told", "contact", "contacted", "email", "emailed", "call", "called", "text",
    "texted", "message", "messaged", "ping", "pinged", "with", "by", "from", "and", "or", "met", "meet",
    "meeting", "thank", "to", "for", "married", "son", "daughter", "wife", "husband", "brother",
    "sister", "mom", "dad", "mother", "father", "friend", "colleague", "boss", "coworker", "co-worker",
    "neighbor", "neighbour", "landlord", "doctor", "lawyer", "tenant", "client", "customer", "patient",
    "about", "see", "saw", "hired", "fired", "introduce", "introducing", "congratulate", "congrats",
    "remind", "invite", "invited", "let", "loves", "replied", "cc'd", "forward", "forwarded", "ex",
    "partner", "girlfriend", "boyfriend", "fiancé", "fiance", "fiancée", "roommate", "cousin", "nephew",
    "niece", "grandson", "granddaughter", "teacher", "student", "employee", "manager", "assistant",
    "named", "hey", "dear", "like", "than", "as", "whom", "sent", "paid", "owe", "owes", "help", "helped",
]  # fmt: skip
_WEAK_NEXT1 = [
    "met", "came", "went", "got", "took", "made", "gave", "paid", "bought", "ordered", "booked", "knows",
    "likes", "loves", "hates", "reported", "requested", "submitted", "shared", "posted", "uploaded", "created",
    "updated", "changed", "fixed", "found", "lost", "arrived", "started", "finished", "moved", "should",
    "might", "must", "did", "does", "doesn't", "didn't", "isn't", "wasn't", "won't", "can't", "couldn't",
    "forgot", "forwarded", "received", "sends", "calls", "needs", "wants", "says", "writes", "asks", "feels",
    "felt", "seems", "lives", "works", "runs", "leads", "manages", "owns", "prefers", "recommended", "also",
    "just", "never", "always", "still", "already", "called", "emailed", "texted", "replied", "responded",
    "said", "says", "told", "asked", "wrote", "replied", "mentioned", "called", "emailed", "texted",
    "thinks", "thought", "wants", "wanted", "needs", "needed", "agreed", "suggested", "explained",
    "confirmed", "approved", "sent", "signed", "left", "joined", "works", "worked", "lives", "lived",
    "is", "was", "has", "had", "will", "would", "can", "could", "and", "who", "from", "at",
]  # fmt: skip
_LOC_PREV1 = [
    "in", "at", "from", "to", "near", "visit", "visiting", "visited", "around", "across", "toward",
    "towards", "via", "into", "outside", "inside", "of", "between", "through", "fly", "flying", "flight",
    "moved", "moving", "live", "lives", "living", "based", "born", "downtown", "uptown", "central",
    "north", "south", "east", "west", "northern", "southern", "eastern", "western", "greater",
]  # fmt: skip


@functools.lru_cache(maxsize=1)
def lexicon() -> pl.DataFrame:
    """The shipped name/word/place lexicon: `low` (lowercase token) and boolean F, L, C, W, P columns.

    F first name, L last name, C common English word, W English word, P place (see the build script).
    The hand-kept `_STOP` words count as words too.
    """
    lex = pl.read_csv(
        LEXICON_PATH,
        separator="\t",
        has_header=False,
        comment_prefix="#",
        new_columns=["low", "flags"],
        schema_overrides={"low": pl.String, "flags": pl.String},
        quote_char=None,
    )
    lex = lex.with_columns(**{k: pl.col("flags").str.contains(k, literal=True) for k in "FLCWP"}).drop("flags")
    ambiguous = pl.col("low").is_in(_AMBIGUOUS)
    return lex.with_columns(pl.col("W") | pl.col("low").is_in(_STOP) | ambiguous, pl.col("C") | ambiguous)


@functools.lru_cache(maxsize=1)
def _lexicon_codes() -> dict[str, int]:
    """token -> bitmask of F, L, C, W, P (bits 0-4), for the per-batch vocabulary lookup."""
    lex = lexicon()
    code = sum(pl.col(k).cast(pl.Int32) * (1 << i) for i, k in enumerate("FLCWP"))
    return dict(zip(lex["low"].to_list(), lex.select(code.alias("code"))["code"].to_list(), strict=True))


@functools.lru_cache(maxsize=1)
def _lexicon_hashes() -> tuple[np.ndarray, np.ndarray, pl.Series, np.ndarray]:
    """The lexicon sorted by the polars hash of its words: hashes, codes, words, and which hashes two words
    share (those go through the dict)."""
    codes = _lexicon_codes()
    words = pl.Series(list(codes), dtype=pl.String)
    hashes = words.hash().to_numpy()
    order = np.argsort(hashes, kind="stable")
    hashes = hashes[order]
    shared = np.zeros(len(hashes), dtype=bool)
    shared[1:] |= hashes[1:] == hashes[:-1]
    shared[:-1] |= hashes[1:] == hashes[:-1]
    return hashes, np.array(list(codes.values()), dtype=np.int32)[order], words.gather(order), shared


def _codes_of(words: pl.Series) -> np.ndarray:
    """The lexicon code of each of `words` (0: not in it), as `_lexicon_codes().get(word, 0)`: a binary search
    of the words' hashes in the sorted lexicon hashes, the words of a hit compared to be sure; a dict lookup
    per word costs a cache miss or two each on the 165k entries."""
    hashes, codes, lex_words, shared = _lexicon_hashes()
    if words.len() == 0 or len(hashes) == 0:
        return np.zeros(words.len(), dtype=np.int32)
    h = words.hash().to_numpy()
    i = np.minimum(np.searchsorted(hashes, h), len(hashes) - 1)
    hit = np.flatnonzero(hashes[i] == h)
    out = np.zeros(words.len(), dtype=np.int32)
    same = (lex_words.gather(i[hit]) == words.gather(hit)).fill_null(False).to_numpy() & ~shared[i[hit]]
    out[hit[same]] = codes[i[hit[same]]]
    odd = hit[~same]  # a shared hash or a hash collision: the dict decides
    if len(odd):
        table = _lexicon_codes()
        out[odd] = [table.get(w, 0) for w in words.gather(odd).to_list()]
    return out


@functools.lru_cache(maxsize=1)
def _place_phrases() -> pl.Series:
    return lexicon().filter(pl.col("P"))["low"]


_TOKEN_PATTERN = r"\s*(?:" + _TOKEN + ")"
"""A token and the whitespace before it: what `_tokens` splits every text into."""
_TOKEN_PATTERN_SHAPED = (
    r"(?-u:\s)*(?:[A-Za-z\x{80}-\x{10FFFF}]+(?:'[A-Za-z\x{80}-\x{10FFFF}]{2,}|-[A-Za-z\x{80}-\x{10FFFF}]+)*"
    r"|[0-9]+|[^\sA-Za-z0-9])"
)
"""`_TOKEN_PATTERN` on text through `_letter_shape` (the same matches there), where every non-ASCII character
is a letter or mark: ASCII classes and one non-ASCII range, which the regex engine runs ~10x faster than the
Unicode classes."""
_RUN_TOKEN = r"^\s*(?:\p{Lu}|\.$|(?:" + "|".join(_PARTICLES) + r")$)"
_PARTICLE_FIRST = np.zeros(256, dtype=bool)
_PARTICLE_FIRST[[ord(p[0]) for p in _PARTICLES]] = True
_PARTICLE_MAX = max(len(p.encode()) for p in _PARTICLES)
"""A token that can be part of a run (on `m`, whitespace first): capitalized, an initial's ".", a particle."""


def _letter_shape(t: pl.Expr) -> pl.Expr:
    """`t` with each non-ASCII character that is no letter or mark replaced by an ASCII one of its token class
    (whitespace " ", "’" "'", anything else "#"): as many characters, and `_TOKEN_PATTERN_SHAPED` on it finds
    tokens of the same lengths as `_TOKEN_PATTERN` on `t`. The letters stay: replacing them one match each
    cost as much as the rest of the tokenization of those texts."""
    return (
        t.str.replace_all(r"[\s&&[^\x00-\x7f]]", " ")
        .str.replace_all("’", "'", literal=True)
        .str.replace_all(r"[^\p{L}\p{M}\x00-\x7f]", "#")
    )


def _tokens(base: pl.DataFrame) -> pl.DataFrame:
    """Every token as `m` (the whitespace before it, then the token) with its `row`, the char offset of its
    `end` and `keep` (it can be part of a run). Nothing else is computed per token: most are lowercase.

    One regex pass over all texts: the matches tile the text, so offsets are a running sum of their lengths
    (numpy, per row). ASCII texts are read as they are; the others through `_letter_shape`, their tokens then
    cut from the original text at those offsets where the shape changed a character.
    """
    t = base.get_column("t")
    other = (t.str.len_bytes() > t.str.len_chars()).arg_true()
    shaped = t
    if other.len():
        before_shape = t.gather(other)
        after_shape = before_shape.to_frame().select(_letter_shape(pl.col("t"))).to_series()
        # only the texts the shape changed (a space, an apostrophe or a symbol that is not ASCII) need their
        # tokens cut from the original: in the others every character stayed
        changed = after_shape != before_shape
        other = other.filter(changed)
        shaped = t.clone().scatter(other, after_shape.filter(changed))
    found = shaped.str.extract_all(_TOKEN_PATTERN_SHAPED)
    counts = found.list.len().fill_null(0).to_numpy()
    m = found.explode(empty_as_null=False, keep_nulls=False)
    ml = m.str.len_chars().cast(pl.Int64).to_numpy()
    # per-row running sums: the global cumsum minus its value where each row's tokens begin
    cs = np.cumsum(ml)
    first = np.cumsum(counts) - counts
    has = counts > 0
    before = np.zeros(len(counts), dtype=np.int64)
    before[has] = cs[first[has]] - ml[first[has]]
    end = cs - np.repeat(before, counts)
    text_of = np.repeat(np.arange(len(counts)), counts)
    if other.len():
        # tokens of the non-ASCII texts: the same lengths, cut from the original text
        sel = np.flatnonzero(np.repeat(np.isin(np.arange(len(counts)), other.to_numpy()), counts))
        if len(sel):
            starts = pl.Series(end[sel] - ml[sel])
            cut = t.gather(text_of[sel]).str.slice(starts, pl.Series(ml[sel]))
            m = m.scatter(sel, cut)
    w = m.str.strip_chars_start()
    tok = pl.DataFrame(
        {"row": base.get_column("row").gather(text_of), "m": m, "end": pl.Series(end, dtype=pl.Int64), "w": w}
    )
    return tok.with_columns(keep=_run_tokens(w)).select("row", "m", "end", "keep", "w")


def _run_tokens(w: pl.Series) -> pl.Series:
    """`_RUN_TOKEN` on the tokens `w` (no whitespace before them): a capitalized token, a "." or a particle.
    Read off each token's first byte and length, which Arrow's string views hold in place (no copy): A-Z, a
    non-ASCII lead byte (then `\\p{Lu}` on those few), ".", or a short lowercase token (then the particle list
    on those)."""
    arr = w.rechunk().to_arrow(compat_level=pl.CompatLevel.newest())
    if not isinstance(arr, pa.StringViewArray) or arr.null_count:
        return w.str.contains(_RUN_TOKEN)
    # a view is 16 bytes: the length (4, little-endian), then the first 4 bytes of the string
    views = np.frombuffer(arr.buffers()[1], dtype="<u4").reshape(-1, 4)[arr.offset : arr.offset + len(arr)]
    size = views[:, 0]
    first = (views[:, 1] & 0xFF).astype(np.uint8)
    keep = ((first >= ord("A")) & (first <= ord("Z"))) | ((first == ord(".")) & (size == 1))
    wide = np.flatnonzero(first >= 0x80)
    if len(wide):
        keep[wide] = w.gather(wide).str.contains(r"^\p{Lu}").to_numpy()
    short = np.flatnonzero(_PARTICLE_FIRST[first] & (size <= _PARTICLE_MAX))
    if len(short):
        keep[short] = w.gather(short).is_in(_PARTICLES).to_numpy()
    return pl.Series(keep)


@functools.lru_cache(maxsize=1)
def _kind_rules() -> list[dict[str, pl.Expr]]:
    """What `_token_kinds` computes after the lexicon flags, as stages of expressions (a stage reads the
    columns of the ones before). Built once: building them cost about as much as running them."""
    is_name = pl.col("F") | pl.col("L")
    tok = pl.col("tok")
    # "Sarah", "O'Brien", "McDonald" are capitalized; "API" and "PERSON" (placeholders) are not
    # "UserService", "getData" are identifiers; "McDonald", "DeShawn", "LaToya" are names
    camel = tok.str.contains(r"\p{Ll}\p{Lu}") & ~tok.str.contains(
        r"^(?:Mc|Mac|Fitz|De|Di|Da|Du|La|Le|Van|Von)\p{Lu}\p{Ll}+$"
    )
    # "KOWALSKA Anna", "JOHN SMITH" (forms, badges): an all-capitals token counts when it is a known name
    # that is no word ("API", "NOTE", "MIT" are not)
    caps = {"caps": tok.str.contains(r"^\p{Lu}{2,}$") & is_name & ~pl.col("W") & ~pl.col("C")}
    cap = (
        pl.col("capital")
        & (tok.str.contains(r"^\p{Lu}(?:\p{Ll}|['’\-]\p{Lu})") | (pl.col("tl") == 1) | pl.col("caps"))
        & ~camel
    )
    roles = {
        "elig": pl.col("_cap")
        & (pl.col("tl") >= 2)
        & ~pl.col("low").is_in(_STOP)
        & ~pl.col("low").is_in(_CONTEXT_ONLY)
        & (is_name | ~pl.col("W")),
        "init0": pl.col("_cap") & (pl.col("tl") == 1),
        # lowercase particles inside a name: "Ludwig van Beethoven", "Maria de la Cruz"
        # ... and capitalized ones between two name tokens: "Henriette-Nicole Le Roux", "Anna De Luca"
        "particle0": pl.col("low").is_in(_PARTICLES)
        & ((tok == pl.col("low")) | (pl.col("capital") & (pl.col("tl") <= 3))),
    }
    evidence = (
        pl.when(~pl.col("elig"))
        .then(0)
        .when(is_name & ~pl.col("C"))
        .then(2)
        .when(is_name)
        .then(1)
        .when(pl.col("P"))
        .then(0)
        .otherwise(1)
    )
    return [caps, {"_cap": cap}, roles, {"ev": evidence}]


def _token_kinds(vocab: pl.Series) -> pl.DataFrame:
    """What a kept token is by itself, once per distinct token (a batch's kept tokens repeat: a fifth are
    distinct): `tl`, `low`, `capital`, the lexicon flags F, L, C, W, P (capitalized tokens only), `caps`,
    `elig`, `init0` (an initial, if a "." follows), `particle0` (a particle, if name tokens surround it)
    and its evidence `ev`."""
    low = vocab.str.to_lowercase()
    capital = vocab.str.contains(r"^\p{Lu}")
    code = _codes_of(low) * capital.to_numpy()
    kinds = pl.DataFrame(
        {
            "tok": vocab,
            "tl": vocab.str.len_chars().cast(pl.Int64),
            "low": low,
            "capital": capital,
            **{k: pl.Series((code & (1 << i)) > 0) for i, k in enumerate("FLCWP")},
        }
    )
    for stage in _kind_rules():
        kinds = kinds.with_columns(**stage)
    return kinds.drop("_cap")


def _kept_tokens(tok: pl.DataFrame) -> pl.DataFrame:
    """The tokens that can be in a run, with `k` (index in `tok`), `m`, `tok`, `start`, `gap_space` and
    `gap_empty` (the whitespace before it is one space, none) and what `_token_kinds` says of them (read once
    per distinct token, joined back)."""
    kept = tok.with_row_index("k").filter(pl.col("keep")).select("k", "row", "m", "end", tok="w")
    kept = kept.join(_token_kinds(kept["tok"].unique()), on="tok", how="left", maintain_order="left")
    # the whitespace before a token (`m` without the token) is only ever compared to " " and "" or searched for
    # a newline (a token holds none): its length and first character say as much, without building it
    gap_len = pl.col("m").str.len_chars().cast(pl.Int64) - pl.col("tl")
    return kept.with_columns(
        start=pl.col("end") - pl.col("tl"),
        gap_space=(gap_len == 1) & pl.col("m").str.starts_with(" "),
        gap_empty=gap_len == 0,
    ).drop("end")


def _members(kept: pl.DataFrame) -> pl.DataFrame:
    """Mark run members (`init`, `initdot`, `particle`, `member`) and `run` ids.

    A neighbour in the token stream is the adjacent kept token (index `k` one apart, same row): a token
    that is not kept is never eligible, an initial, its dot or a particle, so it only breaks a run.
    """
    k, row = pl.col("k"), pl.col("row")
    same_prev = ((k.shift(1) == k - 1) & (row.shift(1) == row)).fill_null(False)
    same_next = ((k.shift(-1) == k + 1) & (row.shift(-1) == row)).fill_null(False)
    kept = kept.with_columns(
        init=pl.col("init0") & same_next & (pl.col("tok").shift(-1) == ".").fill_null(False),
    )
    near = pl.col("elig") | pl.col("particle0")
    kept = kept.with_columns(
        initdot=(pl.col("tok") == ".") & (pl.col("init").shift(1) & same_prev).fill_null(False),
        particle=pl.col("particle0")
        & (near.shift(1) & same_prev & pl.col("gap_space")).fill_null(False)
        & (near.shift(-1) & same_next & pl.col("gap_space").shift(-1)).fill_null(False),
    )
    kept = kept.with_columns(member=pl.col("elig") | pl.col("init") | pl.col("initdot") | pl.col("particle"))
    cont = (
        pl.col("member")
        & (pl.col("member").shift(1) & same_prev).fill_null(False)
        & (pl.col("gap_space") | (pl.col("initdot") & pl.col("gap_empty")))
    )
    return kept.with_columns(run=(pl.col("member") & ~cont).cum_sum())


_RUNS_SCHEMA = pl.Schema(
    {
        "run": pl.UInt32, "row": pl.UInt32, "start": pl.Int64, "end": pl.Int64, "kf": pl.UInt32, "kl": pl.UInt32,
        "text": pl.String, "n": pl.UInt32, "score": pl.Int32, "any_name": pl.Boolean, "all_place": pl.Boolean,
        "single_strong": pl.Boolean, "single_place": pl.Boolean, "single_name": pl.Boolean,
        "single_word": pl.Boolean, "first_common": pl.Boolean, "n_common": pl.UInt32, "ev_first": pl.Int32,
        "start2": pl.Int64, "rest_name": pl.Boolean, "last_surname": pl.Boolean, "nl": pl.Boolean,
        "n_caps": pl.UInt32, "glued": pl.Boolean, "first_tok": pl.String, "last_tok": pl.String,
    }
)  # fmt: skip


def _runs(kept: pl.DataFrame) -> pl.DataFrame:
    """One row per run of members with at least one eligible token, and what the rules need of it.

    A run's members are consecutive rows: its first and last member are gathered by index and its counts
    are numpy `reduceat` sums (a group_by with two dozen aggregations cost three times more); only the
    text (its tokens joined by spaces) is built per run."""
    mem = kept.filter(pl.col("member"))
    if mem.height == 0:
        return pl.DataFrame(schema=_RUNS_SCHEMA)
    run = mem.get_column("run").to_numpy()
    first = np.flatnonzero(np.concatenate([[True], run[1:] != run[:-1]]))
    last = np.concatenate([first[1:], [len(run)]]) - 1
    size = last - first + 1
    cols = {c: mem.get_column(c).to_numpy() for c in ("F", "L", "C", "W", "P", "elig", "caps", "ev")}
    is_name = cols["F"] | cols["L"]
    elig = cols["elig"]

    def total(x: np.ndarray) -> np.ndarray:
        return np.add.reduceat(x.astype(np.int64), first)

    rest_name = is_name & ~cols["C"] & elig
    ev = cols["ev"]
    # the first and the last member's columns, one select each (a gather per column is a call each)
    at_first = mem.select(pl.col("run", "row", "start", "k", "m", "tok", "gap_empty").gather(pl.Series(first)))
    at_last = mem.select(
        end=(pl.col("start") + pl.col("tl")).gather(pl.Series(last)),
        k=pl.col("k").gather(pl.Series(last)),
        tok=pl.col("tok").gather(pl.Series(last)),
    )
    m_first = at_first.get_column("m")
    toks = mem.get_column("tok")
    multi = np.flatnonzero(size > 1)
    text = at_first.get_column("tok")
    if len(multi):
        # runs of two or more tokens: their tokens joined (the others' text is their one token)
        parts = toks.to_list()
        joined = [" ".join(parts[first[j] : last[j] + 1]) for j in multi]
        text = text.scatter(multi, pl.Series(joined, dtype=pl.String))
    second = np.minimum(first + 1, len(run) - 1)
    runs = pl.DataFrame(
        {
            "run": at_first.get_column("run"),
            "row": at_first.get_column("row"),
            "start": at_first.get_column("start"),
            "end": at_last.get_column("end"),
            "kf": at_first.get_column("k"),
            "kl": at_last.get_column("k"),
            "text": text,
            "n": total(elig),
            "score": total(ev),
            "any_name": total(is_name & elig) > 0,
            "all_place": total(cols["P"] | ~elig) == size,
            "single_strong": (cols["F"] & ~cols["C"] & ~cols["W"] & ~cols["P"])[first],
            "single_place": cols["P"][first],
            "single_name": (is_name & ~cols["C"])[first],
            "single_word": cols["W"][first],
            "first_common": cols["C"][first],
            "n_common": total(cols["C"] & elig),
            "ev_first": ev[first],
            "start2": pl.Series(mem.get_column("start").to_numpy()[second]).set(pl.Series(size == 1), None),
            "rest_name": (total(rest_name) - rest_name[first]) > 0,
            "last_surname": (cols["L"] & ~cols["C"])[last],
            "nl": m_first.str.contains("\n", literal=True),
            "n_caps": total(cols["caps"] & elig),
            "glued": at_first.get_column("gap_empty"),
            # `text`'s first and last words (its tokens hold no whitespace)
            "first_tok": at_first.get_column("tok"),
            "last_tok": at_last.get_column("tok"),
        },
    ).cast(_RUNS_SCHEMA)
    return runs.filter(pl.col("n") >= 1)


def _run_context(runs: pl.DataFrame, tok: pl.DataFrame) -> pl.DataFrame:
    """Add the lowercase tokens around each run (`p1`-`p3` before, `n1`-`n3` after; null outside its
    row) and `p1_nl` (`p1` opens a line: a newline before it, or it is its text's first token), gathered
    by index for the few runs only: positions in numpy, the six neighbours' words in one gather."""
    n_tok, n_runs = tok.height, runs.height
    tok_rows, run_rows = tok.get_column("row").to_numpy(), runs.get_column("row").to_numpy()
    kf, kl = runs.get_column("kf").to_numpy().astype(np.int64), runs.get_column("kl").to_numpy().astype(np.int64)
    names = ("p1", "p2", "p3", "n1", "n2", "n3")
    pos = np.concatenate([kf - 1, kf - 2, kf - 3, kl + 1, kl + 2, kl + 3])
    idx = np.clip(pos, 0, n_tok - 1)
    same = (pos >= 0) & (pos < n_tok) & (tok_rows[idx] == np.tile(run_rows, 6))
    near = tok.get_column("w").gather(idx).str.to_lowercase().set(pl.Series(~same), None)
    ctx = {name: near.slice(i * n_runs, n_runs) for i, name in enumerate(names)}
    p1_in_row, n1_in_row = same[:n_runs], same[3 * n_runs : 4 * n_runs]
    p1_idx, n1_idx = idx[:n_runs], idx[3 * n_runs : 4 * n_runs]
    lines = tok.get_column("m").gather(np.concatenate([p1_idx, n1_idx])).str.contains("\n", literal=True).to_numpy()
    p1 = kf - 1
    opens_text = (p1 == 0) | (tok_rows[np.clip(p1 - 1, 0, n_tok - 1)] != run_rows)
    ctx["p1_nl"] = pl.Series(p1_in_row & (lines[:n_runs] | opens_text))
    ctx["n1_cap"] = pl.Series(n1_in_row) & tok.get_column("w").gather(n1_idx).str.contains(r"^\p{Lu}")
    ctx["n1_nl"] = pl.Series(~n1_in_row | lines[n_runs:])
    return runs.with_columns(**ctx)


_HASH_BITS = 22


@functools.cache
def _hash_screen(which: str) -> tuple[np.ndarray, frozenset[str]]:
    """For a fixed word list (`lower_firsts` or `places`): a bitmap over the low 22 bits of the polars
    hashes of its words (a screen with ~1% false positives) and the set itself (the exact test)."""
    words = _lower_firsts() if which == "lower_firsts" else _place_phrases()
    bits = np.zeros(1 << _HASH_BITS, dtype=bool)
    bits[words.hash().to_numpy() & ((1 << _HASH_BITS) - 1)] = True
    return bits, frozenset(words.to_list())


def _in_set(words: pl.Series, which: str) -> pl.Series:
    """Which of `words` (null: False) are in the fixed list `which`: the hash screen over all of them, then
    a set lookup of the few that pass. polars' `is_in` would hash the whole list again on every call, and a
    set lookup per word costs a cache miss or two each."""
    bits, members = _hash_screen(which)
    maybe = np.flatnonzero(bits[words.hash().to_numpy() & ((1 << _HASH_BITS) - 1)])
    out = np.zeros(words.len(), dtype=bool)
    out[maybe[[x in members for x in words.gather(maybe).to_list()]]] = True
    return pl.Series(out)


@functools.lru_cache(maxsize=1)
def _street_types() -> list[str]:
    """Lowercase street-type words ("via", "rue", "calle", "ul"): a name right after one names a street."""
    from ftdata_assets.transforms.pii.address import _TYPES_CAP, _TYPES_LOWER

    return sorted({w.lower().rstrip("./") for w in _TYPES_CAP + _TYPES_LOWER if len(w.rstrip("./")) > 1})


@functools.lru_cache(maxsize=1)
def _street_words() -> tuple[list[str], list[str]]:
    """Street words that follow a street's name: English ones (count when capitalized: "Bennett Mall", not
    "talked to Anna well") and the others, which are no English words ("gate", "gata", "utca", "caddesi")."""
    from ftdata_assets.transforms.pii.address import _GLUED_WORDS

    # only the unambiguous ones: "Hill", "Lake", "Ford", "Wells" are surnames too
    english = ["alley", "avenue", "blvd", "boulevard", "crescent", "expressway", "freeway", "gardens", "highway",
               "mall", "mews", "parkway", "plaza", "road", "square", "street", "terrace", "turnpike"]  # fmt: skip
    other = sorted(
        {w.rstrip(".") for w in _GLUED_WORDS if len(w.rstrip(".")) > 2}
        - set(english)
        - {"tee", "tie", "pad", "dam", "wal", "park", "ring", "hof", "berg", "markt", "kant", "baan"}
    )
    return english, sorted({*other, "gate"})  # Norwegian "Karl Johans gate 12"


def _fold(s: str) -> str:
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode().lower()


_EMAIL_LOCAL = re.compile(r"([A-Za-z0-9._%+\-]+)@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")


def _email_agrees(runs: pl.DataFrame, base: pl.DataFrame) -> pl.Series:
    """Runs of two or more words whose first or last word is a part of an e-mail address in the same text
    ("Tavita Faleolo, tavita.faleolo@..."), as in CSV rows, signatures and "Name <address>": the address
    names the person, whatever the lexicon says. Only rows with an "@" are read, one `re` scan per such row."""
    rows = base.filter(pl.col("row").is_in(runs["row"].implode()) & pl.col("t").str.contains("@", literal=True))
    if rows.height == 0:
        return pl.Series([False] * runs.height, dtype=pl.Boolean)
    # only runs of two or more words that are not accepted yet, in those rows, are read
    todo = runs.select(
        i=pl.int_range(pl.len()),
        ok=~pl.col("accept") & (pl.col("n") >= 2) & pl.col("row").is_in(rows["row"].implode()),
    )
    idx = todo.filter(pl.col("ok"))["i"]
    if idx.len() == 0:
        return pl.Series([False] * runs.height, dtype=pl.Boolean)
    parts: dict[int, set[str]] = {}
    # only the rows of those runs (a row without one is never asked)
    for row, t in rows.filter(pl.col("row").is_in(runs["row"].gather(idx).implode())).iter_rows():
        got: set[str] = set()
        for local in _EMAIL_LOCAL.findall(t):
            got |= {p for p in re.split(r"[._%+\-0-9]+", local.lower()) if len(p) >= 3}
        parts[row] = got
    out = [False] * runs.height
    for i, row, text in zip(idx.to_list(), *runs[idx].select("row", "text").get_columns(), strict=True):
        got = parts.get(row)
        words = [_fold(w) for w in text.split()] if got else []
        out[i] = len(words) >= 2 and (words[0] in got or words[-1] in got)
    return pl.Series(out, dtype=pl.Boolean)


_LIST_ANDS = ["and", "or", "&", "und", "et", "y", "e", "i", "og", "och", "ja", "en", "oraz"]


def _list_accept(runs: pl.DataFrame, can_join: pl.Expr, can_chain: pl.Expr) -> pl.Series:
    """`accept` of runs in lists (the runs next to a list separator and another run, in text order; null
    accept counts as not accepted), in numpy over one select of what the rules read:

    - a run that `can_join` and sits next to an accepted run through one list separator ("Anna, Piotr and
      Kenji": Kenji is in no list, but listed with names); three passes reach lists of four;
    - then a list of three or more runs joined by commas and one "and"/"or", two of them known names ("Anna,
      Ikdri, Amvellin and Priya"), or of two after a label's colon ("Invited: Vosan and Quovel"), every one a
      name-like run that `can_chain`: all names ("Xorg, Wayland and Mir", one name-like product, is a list of
      software)."""
    cols = runs.select(
        linked=(
            (pl.col("row") == pl.col("row").shift(1))
            & (pl.col("kf") == pl.col("kl").shift(1) + 2)
            & pl.col("p1").is_in(_LIST_SEPS)
        ).fill_null(False),
        accept=pl.col("accept").fill_null(False),
        join=can_join.fill_null(False),
        chain=can_chain.fill_null(False),
        colon=(pl.col("p1") == ":").fill_null(False),
        conj=pl.col("p1").is_in(_LIST_ANDS).fill_null(False),
        named=((pl.col("single_name") & (pl.col("n") == 1)) | (pl.col("any_name") & (pl.col("n") >= 2))).fill_null(
            False
        ),
    )
    linked, accept, join, ok, colon, conj, named = (cols.get_column(c).to_numpy() for c in cols.columns)
    accept = accept.copy()
    linked_next = np.zeros(len(linked), dtype=bool)
    linked_next[:-1] = linked[1:]
    for _ in range(3):
        before, after = np.zeros(len(accept), dtype=bool), np.zeros(len(accept), dtype=bool)
        before[1:], after[:-1] = accept[:-1], accept[1:]
        accept = accept | (((linked & before) | (linked_next & after)) & join)
    # chains: a new one where a run is not linked to the previous one, or either cannot join
    ok_before = np.zeros(len(ok), dtype=bool)
    ok_before[1:] = ok[:-1]
    starts = np.flatnonzero(~(linked & ok & ok_before))
    size = np.diff(np.append(starts, len(ok)))
    ok_all = np.add.reduceat(ok.astype(np.int64), starts) == size
    has_conj = np.add.reduceat(conj.astype(np.int64), starts) > 0
    two_named = np.add.reduceat(named.astype(np.int64), starts) >= 2
    chain = ok_all & has_conj & (((size >= 3) & two_named) | ((size == 2) & colon[starts]))
    return pl.Series(accept | np.repeat(chain, size), dtype=pl.Boolean)


_HAN = "\u3005-\u3007\u3021-\u3029\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
_HANGUL = "\u1100-\u11ff\u3130-\u318f\uac00-\ud7af"
_CJK = _HAN + _HANGUL + "\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f"
"""Han, Hangul, Hiragana, Katakana (and its long-vowel mark) as `re` ranges."""
_CJK_NAME = re.compile(
    # every shape below starts at a CJK character or one character before one: this lookahead (implied by each)
    # lets the engine leave the other positions after one test instead of four alternatives
    rf"(?=[{_CJK}]|[\s\S][{_CJK}])(?:"
    # 0: two Han words with a space between (CJK text has no spaces between words: "高橋 翔太", "王 伟")
    rf"(?:^|[^{_CJK}])(?P<v0>[{_HAN}]{{1,3}}[ \u3000][{_HAN}]{{1,3}})(?=$|[^{_CJK}])"
    # 1: a self-introduction ("私の名前は山田太郎", "我叫王伟", "제 이름은 김민수")
    r"|(?:私の名前は|名前は|私は|わたしは|我叫|我是|我的名字是|名字是|제\s?이름은|이름은|저는)\s*"
    rf"(?P<v1>[{_HAN}]{{2,4}}|[{_HANGUL}]{{2,3}})"
    # 2: a Japanese, Chinese or Korean honorific after it ("田中さん", "鈴木先生", "王先生", "김민수님")
    rf"|(?:^|[^{_CJK}])?(?P<v2>[{_HAN}]{{2,4}}|[{_HANGUL}]{{2,4}})(?:さん|くん|ちゃん|先生|女士|小姐|氏|様|님|씨|선생님)"
    # 3: a Han or Hangul word alone in Latin text ("email 佐藤 about it", "invite 山口, Anna"): in the lexicon
    rf"|(?:^|[^{_CJK}])(?P<v3>[{_HAN}]{{1,4}}|[{_HANGUL}]{{2,4}})(?=$|[^{_CJK}])"
    ")"
)
_CJK_ANY = re.compile(f"[{_HAN}{_HANGUL}]")
_LATIN_WORDS = re.compile(r"[A-Za-z]{2}")


def _non_ascii(base: pl.DataFrame) -> pl.DataFrame:
    """Rows with a non-ASCII character: a byte/char count comparison, cheaper than a Unicode class scan."""
    return base.filter(pl.col("t").str.len_bytes() > pl.col("t").str.len_chars())


def _cjk_names(rows: list[tuple[int, str]]) -> list[tuple[int, int, int, str]]:
    """Han and Hangul names, which have no capital letters: by shape (a space between two Han words, an
    introduction, a Japanese honorific) or, alone in a Latin sentence, by the lexicon: a known name, or a
    known surname and given name run together ("王伟", "김민수").

    `rows` are the (row, text) pairs with a non-ASCII character: a few percent of the texts, read with
    `re` (a polars pass with these Unicode classes costs ~30 us per row in setup alone)."""
    codes = _lexicon_codes()

    def known(w: str) -> bool:
        if codes.get(w, 0) & 0b11:
            return True
        return any(codes.get(w[:i], 0) & 0b10 and codes.get(w[i:], 0) & 0b01 for i in (1, 2) if len(w) > i)

    def korean_shape(w: str) -> bool:
        # "박서연", "최지훈": a known one-syllable surname, then a given name of one or two syllables (Korean
        # given names are many, and Faker lists few of them)
        return 2 <= len(w) <= 3 and all("\uac00" <= c <= "\ud7a3" for c in w) and bool(codes.get(w[0], 0) & 0b10)

    def in_latin(t: str, a: int, b: int) -> bool:
        # set in a Latin sentence (a Latin word within a few characters), not next to digits (addresses)
        left, right = t[max(0, a - 12) : a], t[b : b + 12]
        near_digit = left.rstrip()[-1:].isdigit() or right.lstrip()[:1].isdigit()
        return bool(_LATIN_WORDS.search(left) or _LATIN_WORDS.search(right)) and not near_digit

    out = []
    for row, t in rows:
        if not _CJK_ANY.search(t):
            continue
        for m in _CJK_NAME.finditer(t):
            alt = next(i for i in range(4) if m.group(f"v{i}") is not None)
            v = m.group(f"v{alt}")
            a, b = m.start(f"v{alt}"), m.end(f"v{alt}")
            if alt != 3 or known(v) or (korean_shape(v) and in_latin(t, a, b)):
                out.append((row, a, b, v))
    return out


_CASELESS = (
    # Hebrew, Arabic (with its supplements and presentation forms), the Indic scripts, Sinhala, Thai, Lao,
    # Myanmar, Georgian, Ethiopic, Khmer: scripts without capital letters
    "\u0590-\u05ff\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\u0900-\u0dff\u0e00-\u0eff\u1000-\u109f"
    "\u10a0-\u10ff\u1200-\u137f\u1780-\u17ff\ufb1d-\ufdff\ufe70-\ufeff"
)
_CASELESS_RUN = re.compile(
    f"[{_CASELESS}][{_CASELESS}\u0300-\u036f]*(?:[ \t]+[{_CASELESS}][{_CASELESS}\u0300-\u036f]*)*"
)
"""Words of scripts without capital letters, separated by single spaces or tabs."""
_CASELESS_ANY = re.compile(f"[{_CASELESS}]")
_LATIN_END = re.compile(r"[a-z0-9]\W*$")
_LATIN_START = re.compile(r"^\W*[a-z0-9]")
_LATIN_LINE = re.compile(r"[a-z]{2}[^\n]*\n?[^\n]*$")
_HOUSE_NUMBER = re.compile(r"[0-9][\-/]?[0-9]*\s*$")
_CASELESS_CUES = frozenset(
    # Arabic, Persian, Hebrew, Hindi: "my name is", greetings, Mr/Mrs/Dr, "thanks"
    [
        "اسمي",
        "اسمى",
        "سلام",
        "مرحبا",
        "مرحباً",
        "أهلا",
        "اهلا",
        "السيد",
        "السيدة",
        "الأستاذ",
        "الاستاذ",
        "الأستاذة",
        "الدكتور",
        "الدكتورة",
        "عزيزي",
        "عزيزتي",
        "آقای",
        "خانم",
        "دکتر",
        "مهندس",
        "استاد",
        "جناب",
        "سرکار",
        "عزیز",
        "اسمم",
        "شکریه",
        "ممنون",
        "שלום",
        "לכבוד",
        "מר",
        "גברת",
        "ד״ר",
        "שמי",
        "नमस्ते",
        "श्री",
        "श्रीमती",
        "डॉ",
        "नाम",
    ]
)
"""Words right before a name in scripts without capitals: a greeting, a title, "my name is"."""


def _caseless_span(words: str, alone: bool) -> list[tuple[int, int]]:
    """(start, end) of the names in a run of caseless-script words: two or more known names in a row
    ("محمد علي", "राहुल शर्मा"), one or two words after a title or greeting ("آقای رضایی", "مرحبا أحمد"),
    or, set in text of another script, a run of one known name or two or three words with one known."""
    codes = _lexicon_codes()
    toks = list(re.finditer(r"\S+", words))
    if alone and 1 <= len(toks) <= 3:
        names = [bool(codes.get(t.group().lower(), 0) & 0b11) for t in toks]
        if len(toks) >= 2 or names[0]:
            return [(toks[0].start(), toks[-1].end())]
    for i, t in enumerate(toks[:-1]):
        if t.group() in _CASELESS_CUES:
            k = i + 1
            while k < len(toks) - 1 and toks[k].group() in _CASELESS_CUES:
                k += 1
            if toks[k].group() in _CASELESS_CUES:
                break
            # the word after the first joins when it is a known name too ("آقای رضایی لطفا": please)
            nxt_known = k + 1 < len(toks) and bool(codes.get(toks[k + 1].group().lower(), 0) & 0b11)
            j = k + 1 if nxt_known and toks[k].group()[-1] not in "،,.؛!؟" else k
            end = toks[j].end() - (1 if toks[j].group()[-1] in "،,.؛!؟" else 0)
            return [(toks[k].start(), end)]
    known = [bool(codes.get(t.group().lower(), 0) & 0b11) for t in toks]
    out, i = [], 0
    while i < len(toks):
        if not known[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(toks) and known[j + 1]:
            j += 1
        if j > i or (alone and len(toks) == 1):
            out.append((toks[i].start(), toks[j].end()))
        i = j + 1
    return out


def _caseless_names(rows: list[tuple[int, str]]) -> list[tuple[int, int, int, str]]:
    """Names in Arabic, Hebrew, Indic, Thai, Georgian... script: by the lexicon (Faker's names of those
    locales) and the words around them, per run of such words in the (few) non-ASCII `rows`."""
    out: list[tuple[int, int, int, str]] = []
    for row, t in rows:
        if not _CASELESS_ANY.search(t):
            continue
        for m in _CASELESS_RUN.finditer(t):
            start, end = m.start(), m.end()
            left, right = t[max(0, start - 24) : start].lower(), t[end : end + 24].lower()
            # "852 کمالی جنب", "ถนนสุขุมวิท 21": a house number before or after the words makes them a street
            if _HOUSE_NUMBER.search(left) or right.lstrip()[:1].isdigit():
                continue
            # alone: set in text of another script: a Latin word next to it or on its line or the line
            # before ("Cheers,\nصابر" signs an English message), or nothing else in the text
            alone = (
                bool(_LATIN_END.search(left) or _LATIN_START.search(right))
                or bool(_LATIN_LINE.search(left) and not _CASELESS_ANY.search(left))
                or (left == "" and right == "")
            )
            text = m.group()
            for a, b in _caseless_span(text, alone):
                out.append((row, start + a, start + b, text[a:b]))
    return out


_LOWER_CUES = [
    "hi", "hey", "hello", "hiya", "yo", "thx", "thanks", "ty", "dear", "ask", "tell", "cc", "ping", "its", "it's",
    "it’s", "with", "call", "text", "email", "meet", "met", "bye", "love", "miss", "told", "asked", "pinged",
    "texted", "emailed", "called",
]  # fmt: skip
_INTRO_PAIRS = ["call me", "me llamo", "mi chiamo", "je m'appelle", "je m’appelle", "ich heiße", "ich heisse",
                "name ist", "nome é", "nazywam się", "naam is", "surname is", "names is"]  # fmt: skip
_INTRO_LAST = sorted({"is", *(p.split()[1] for p in _INTRO_PAIRS)})
_LOWER_GREETINGS = ["hi", "hey", "hello", "hiya", "thx", "thanks", "ty", "dear", "bye", "cheers"]
_GREETING_OR_INTRO = sorted({*_LOWER_GREETINGS, *_INTRO_LAST})
"""A word before a lowercase candidate: a greeting or the last word of an introduction (one lookup)."""
_LOWER_CUES_CHAT = ["with", "to", "for", "from", "by", "about", "and", "or"]
"""Weaker cues ("talked to anna", "lunch with kenji"): only in texts typed all in lowercase (chat), not in
prose, where "moved to polly" or "and travis" are tools."""
"""Words before a lowercase first name in chat ("hi anna", "ask piotr", "thx kenji"): with one of these, a
known first name that is no word ("anna", not "will" or "grace") is a name."""
_FIRST = 0b1
_NAME = 0b11
_WORDISH = 0b11100
"""Lexicon bits (F, L, C, W, P = bits 0-4): a common word, a word or a place."""


@functools.lru_cache(maxsize=1)
def _lower_firsts() -> pl.Series:
    """The lexicon's first names that are lowercase words of three or more characters and no common word,
    word or place: what a lowercase token must be to be a first name in `_lower_pairs`."""
    codes = _lexicon_codes()
    firsts = [w for w, c in codes.items() if c & (_FIRST | _WORDISH) == _FIRST and len(w) >= 3 and w.islower()]
    return pl.Series(firsts, dtype=pl.String)


@functools.lru_cache(maxsize=1)
def _lower_rules() -> list[dict[str, pl.Expr]]:
    """The rules of `_lower_pairs` over a candidate's columns (its word, code and gap, its neighbours'):
    `pair`, `cue` and `chat`, after a stage of the pieces they share (eager expressions are not shared).
    Built once: building them cost about as much as running them."""
    code = pl.col("code")
    is_first = (code >= 0) & ((code & (_FIRST | _WORDISH)) == _FIRST) & (pl.col("w").str.len_chars() >= 3)
    p1c, p2c, p3c = pl.col("p1"), pl.col("p2"), pl.col("p3")
    # "my name is oluwaseun adeyemi", "call me kenji", "me llamo ana": after these any token that is no
    # ordinary word is a name, in a list or not; after "i'm", "this is", "it's" only a known first name
    intro = (
        ((p1c == "is") & (p2c == "name") & p3c.is_in(["my", "full", "first", "last"]))
        | (pl.concat_str([p2c, p1c], separator=" ").is_in(_INTRO_PAIRS))
    ).fill_null(False)
    soft_intro = (
        (p1c == "im")
        | ((p1c == "m") & p2c.is_in(["'", "’"]) & (p3c == "i"))
        | ((p1c == "am") & (p2c == "i"))
        | ((p1c == "is") & (p2c == "this"))
        | ((p1c == "s") & p2c.is_in(["'", "’"]) & (p3c == "it"))
        | (p1c == "under")
    ).fill_null(False)
    first = is_first.fill_null(False)
    n1c = pl.col("n1_code")
    # no ordinary word: a name that is no common word, or a lowercase token in no list at all
    plain = (code >= 0) & (((code & _NAME) > 0) & ((code & 0b00100) == 0) | (code == 0))
    plain = plain & pl.col("w").str.contains(r"^\p{Ll}[\p{Ll}\p{M}'’\-]+$") & ~pl.col("w").is_in(_STOP)
    n1_plain = (n1c >= 0) & (((n1c & _NAME) > 0) & ((n1c & 0b00100) == 0) | (n1c == 0))
    n1_plain = n1_plain & pl.col("n1").str.contains(r"^\p{Ll}[\p{Ll}\p{M}'’\-]+$") & ~pl.col("n1").is_in(_STOP)
    shared = {"_first": first, "_introduced": (intro & plain).fill_null(False)}
    first, introduced = pl.col("_first"), pl.col("_introduced")
    intro_two = (introduced & n1_plain & (pl.col("n1_gap") == 1)).fill_null(False)
    second = (n1c >= 0) & ((n1c & _NAME) > 0) & ((n1c & 0b01100) == 0) & (pl.col("n1_gap") == 1)
    prv = pl.col("p1").is_not_null() & (pl.col("gap") == 1)
    unknown_cue = (
        (code == 0)
        & pl.col("w").str.contains(r"^\p{Ll}{3,}$")
        & prv
        & pl.col("p1").is_in(_LOWER_GREETINGS)
        & (pl.col("n1").is_in([",", "!", ".", "?", ":"]) | pl.col("n1").is_null())
    )
    glued_next = (pl.col("n1_gap") == 0) & (
        pl.col("n1").is_in(["/", "_", "=", "(", "@", "-", "\\"]) | ((pl.col("n1") == ".") & (pl.col("n2_gap") == 0))
    )
    return [
        shared,
        dict(
            pair=((first & second) | intro_two).fill_null(False),
            cue=((first & prv & (pl.col("p1").is_in(_LOWER_CUES) | soft_intro)) | unknown_cue | introduced).fill_null(
                False
            ),
            # in an all-lowercase text (chat), a known first name that is no word is a name anywhere, unless
            # it is glued into a path, an option or a file name ("/usr/share/anna", "--anna", "anna.conf")
            chat=(
                first
                & ((pl.col("gap") > 0) | pl.col("p1").is_null())
                & ~glued_next.fill_null(False)
                & ~pl.col("p1").is_in(["-", "/", "_", "=", ".", "$", "@", "\\"]).fill_null(False)
            ).fill_null(False),
        ),
    ]


def _lower_pairs(base: pl.DataFrame, tok: pl.DataFrame) -> pl.DataFrame:
    """Names typed in lowercase ("talked to anna kowalska", "hi kenji", "thx rennemi!!"): a known first
    name that is no word, place or stop word, followed by a known name that is no word ("anna kowalska"),
    or after a chat cue ("thx anna"), or anywhere in a text typed all in lowercase; a word in no list
    between a greeting and punctuation. Tokens of all rows, so texts without any capital are read too.

    The candidates (a known lowercase first name, or a token after a greeting: a few percent of the
    tokens) are found with one lookup against the lexicon's lowercase first names; only they and the
    tokens after them get their lexicon codes and their neighbours gathered by index."""
    codes = _lexicon_codes()
    w = pl.col("w")
    cand = tok.with_row_index("k").filter(
        _in_set(tok.get_column("w"), "lower_firsts") | ((w.str.len_bytes() >= 3) & w.shift(1).is_in(_GREETING_OR_INTRO))
    )
    if cand.height == 0:
        return pl.DataFrame(schema=_CAND)
    # the neighbours' words and gaps (null outside the row): positions in numpy, one gather for all five
    n_tok, n_cand = tok.height, cand.height
    k = cand.get_column("k").to_numpy().astype(np.int64)
    pos = np.concatenate([k + 1, k + 2, k - 1, k - 2, k - 3, k])
    idx = np.clip(pos, 0, n_tok - 1)
    same = (pos >= 0) & (pos < n_tok) & (tok.get_column("row").to_numpy()[idx] == np.tile(cand["row"].to_numpy(), 6))
    words = tok.get_column("w").gather(idx)
    gaps = tok.get_column("m").gather(idx).str.len_bytes() - words.str.len_bytes()
    words, gaps = words.set(pl.Series(~same), None), gaps.set(pl.Series(~same), None)

    def part(x: pl.Series, i: int) -> pl.Series:
        return x.slice(i * n_cand, n_cand)

    near = {
        "n1": part(words, 0),
        "n1_gap": part(gaps, 0),
        "n2_gap": part(gaps, 1),
        "p1": part(words, 2),
        "p2": part(words, 3),
        "p3": part(words, 4),
        "gap": part(gaps, 5),
    }
    cand = cand.with_columns(**near)
    # lexicon codes of the candidates and the tokens after them (-1: not lowercase)
    vocab = pl.concat([cand["w"], cand["n1"]]).drop_nulls().unique()
    vals = [codes.get(x, 0) if x.islower() else -1 for x in vocab.to_list()]
    table = pl.DataFrame({"w": vocab, "code": pl.Series(vals, dtype=pl.Int32)})
    cand = cand.join(table, on="w", how="left", maintain_order="left")
    cand = cand.join(table.select(n1="w", n1_code="code"), on="n1", how="left", maintain_order="left")
    for stage in _lower_rules():
        cand = cand.with_columns(**stage)
    hits = cand.filter(pl.col("pair") | pl.col("cue") | pl.col("chat"))
    if hits.height == 0:
        return pl.DataFrame(schema=_CAND)
    chat_rows = hits.filter(~pl.col("pair") & ~pl.col("cue"))["row"].unique()
    upper = base.filter(pl.col("row").is_in(chat_rows.implode()) & pl.col("t").str.contains(r"\p{Lu}"))["row"]
    hits = hits.filter(pl.col("pair") | pl.col("cue") | ~pl.col("row").is_in(upper.implode()))
    start = pl.col("end") - pl.col("w").str.len_chars().cast(pl.Int64)
    n1_len = pl.col("n1").str.len_chars().cast(pl.Int64)
    return hits.select(
        "row",
        start=start,
        end=pl.when(pl.col("pair")).then(pl.col("end") + 1 + n1_len).otherwise(pl.col("end")),
        text=pl.when(pl.col("pair")).then(pl.col("w") + " " + pl.col("n1")).otherwise(pl.col("w")),
    ).cast(_CAND)


_KV_LABELS = [
    "full name", "full_name", "fullname", "first name", "first_name", "firstname", "last name", "last_name",
    "lastname", "given name", "given_name", "family name", "family_name", "surname", "name", "customer name",
    "customer_name", "customer", "client name", "client_name", "client", "contact name", "contact_name",
    "contact person", "contact", "account holder", "account_holder", "cardholder", "card holder",
    "holder name", "passenger", "passenger name", "patient", "patient name", "guest", "guest name",
    "employee", "employee name", "author", "sender", "recipient", "assignee", "assigned to", "reporter",
    "requester", "requested by", "reported by", "submitted by", "created by", "approved by", "signed by",
    "owner", "attendee", "participant", "member", "student", "tenant", "applicant", "beneficiary", "driver",
    "agent", "caller", "from", "to", "cc", "attn", "signed", "display name", "display_name", "nickname",
    "nombre", "apellido", "apellidos", "nom", "prénom", "prenom", "nome", "cognome", "sobrenome", "naam",
    "achternaam", "voornaam", "vorname", "nachname", "imię", "imie", "nazwisko", "namn", "efternamn", "nimi",
    "sukunimi", "navn", "etternavn", "efternavn", "ad", "soyad", "ad soyad", "adı", "név", "jméno",
    "příjmení", "meno", "priezvisko", "ime", "prezime", "vardas", "pavardė", "vārds", "uzvārds", "nafn",
]  # fmt: skip
"""Field labels whose value is a person's name (forms, tickets, JSON/YAML/XML fields, key=value logs)."""
_KV_LABELS_NATIVE = ["имя", "фамилия", "фио", "отчество", "контакт", "клиент", "ім'я", "ім’я", "прізвище",
                     "όνομα", "επώνυμο", "ονοματεπώνυμο", "姓名", "名前", "氏名", "联系人", "聯絡人", "客户", "担当者",
                     "이름", "성명", "담당자", "الاسم", "اسم", "نام", "نام و نام خانوادگی", "نام خانوادگی",
                     "שם", "שם מלא"]  # fmt: skip
_KV_SET = frozenset({*(w.replace("_", " ") for w in _KV_LABELS), *_KV_LABELS_NATIVE})
_KV_LAST = sorted({w.replace("_", " ").split()[-1] for w in _KV_SET})
"""Last words of the labels: the token before a ":" / "=" / ">" must be one of them (vectorized screen)."""
_KV_SEPS = [":", "=", "：", ">"]
_KV_VALUE = re.compile(
    r"[ \t]*[\"']?((?:[^\W\d_][^\s\d\"',;|<>()\[\]{}:=：/\\@#]*)(?: [^\W\d_][^\s\d\"',;|<>()\[\]{}:=：/\\@#]*){0,3})"
    r"(?=$|[ \t]*[\r\n\"',;|<)/]|[ \t]+[(\[<])"
)
"""After the separator: one to four words (any script), then the end of the field."""
_KV_NOT_NAME = {"required", "optional", "none", "null", "nil", "unknown", "default", "string", "true", "false",
                "yes", "no", "n", "na", "tbd", "todo", "admin", "root", "user", "guest", "anonymous", "test",
                "example", "sample", "varchar", "text", "int", "str", "value", "undefined", "unassigned",
                "nobody", "everyone", "all", "me", "you", "self", "system", "support", "team", "sales"}  # fmt: skip


def _kv_value_ok(value: str) -> bool:
    """A field value that reads as a name: every Latin/Cyrillic/Greek word a known name or a capitalized
    word that is no ordinary word; CJK 2-4 characters; other scripts two words or one known name."""
    codes = _lexicon_codes()
    words = value.split()
    if not words or len(value) < 2:
        return False
    if all(ch.isalpha() and not ch.isupper() and not ch.islower() for ch in value.replace(" ", "")):
        # scripts without case: Han/Hangul/kana by length, Arabic, Hebrew, Indic... by word count or lexicon
        if re.fullmatch(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7a3 ]+", value):
            flat = value.replace(" ", "")
            # a known surname first ("王", "佐藤", "김"): "必填" (required) and "销售部" (sales) are no names
            return 2 <= len(flat) <= 5 and any(codes.get(flat[:i], 0) & 0b10 for i in (1, 2))
        return len(words) >= 2 or bool(codes.get(value.lower(), 0) & _NAME)
    known = 0
    for w in words:
        low = w.lower().strip(".")
        if low in _KV_NOT_NAME or low in _STOP_SET:
            return False
        code = codes.get(low, 0)
        if code & _NAME and not code & 0b01100:
            known += 1
        elif code & 0b11100 or not w[0].isupper():
            return False  # a plain word ("Pending", "network") or an unknown lowercase token ("jdoe")
    return known > 0 or len(words) >= 2 or len(words[0]) >= 3


def _label_values(base: pl.DataFrame, tok: pl.DataFrame) -> pl.DataFrame:
    """The value of a person field ("Name: Kenji Watanabe", "full_name=\"li wei\"", "<name>Ana</name>",
    "ФИО: Иванов Иван", "姓名：王伟"), in any script or case; the value must read as a name.

    Read off the token stream: a separator token whose previous word (past a closing quote) ends a label;
    only those few candidates get the whole label and the value read with `re`."""
    sep = tok.with_row_index("k").filter(pl.col("w").is_in(_KV_SEPS) & (pl.col("k") > 0))
    if sep.height == 0:
        return pl.DataFrame(schema=_CAND)
    # the five tokens before the separator (index clipped at 0), null where they belong to another text:
    # positions in numpy, one gather for all five
    n_sep = sep.height
    idx = np.maximum(sep.get_column("k").to_numpy().astype(np.int64) - np.arange(1, 6)[:, None], 0).ravel()
    same = tok.get_column("row").to_numpy()[idx] == np.tile(sep.get_column("row").to_numpy(), 5)
    words = tok.get_column("w").gather(idx).set(pl.Series(~same), None)
    sep = sep.with_columns(**{f"p{i}": words.slice((i - 1) * n_sep, n_sep) for i in range(1, 6)})
    last = pl.when(pl.col("p1").is_in(['"', "'"])).then(pl.col("p2")).otherwise(pl.col("p1")).str.to_lowercase()
    sep = sep.filter(last.is_in(_KV_LAST))
    if sep.height == 0:
        return pl.DataFrame(schema=_CAND)
    texts = base.filter(pl.col("row").is_in(sep["row"].unique().implode()))
    by_row = dict(zip(texts["row"].to_list(), texts["t"].to_list(), strict=True))
    out = []
    for r, end, p1, p2, p3, p4, p5 in sep.select("row", "end", "p1", "p2", "p3", "p4", "p5").iter_rows():
        back = [x.lower() for x in (p1, p2, p3, p4, p5) if x is not None]
        if back[0] in ('"', "'"):
            back = back[1:]
        label, ok = "", False
        for x in back:  # "customer full_name": "name", "full name", "customer full name"
            if x == "_":
                continue
            if not x[:1].isalpha():
                break
            label = x if not label else f"{x} {label}"
            if label in _KV_SET:
                ok = True
        if not ok:
            continue
        t = by_row[r]
        m = _KV_VALUE.match(t, end)
        if m is None:
            continue
        value = m.group(1).rstrip(".")
        if _kv_value_ok(value):
            out.append((r, m.start(1), m.start(1) + len(value), value))
    return pl.DataFrame(out, schema=_CAND, orient="row")


def _other_scripts(base: pl.DataFrame) -> pl.DataFrame:
    """Han/Hangul and caseless-script names, in the texts with a non-ASCII character only."""
    rows = list(_non_ascii(base).select("row", "t").iter_rows())
    found = _cjk_names(rows) + _caseless_names(rows)
    return pl.DataFrame(found, schema=_CAND, orient="row")


def _persons(base: pl.DataFrame) -> pl.DataFrame:
    tok = _tokens(base)
    parts = [
        _cased_persons(base, tok),
        _lower_pairs(base, tok),
        _label_values(base, tok),
        _other_scripts(base),
    ]
    return _typed(pl.concat(parts), "PERSON")


_INTRO_BEFORE = sorted(
    {
        *(f"{a} {b}" for a in ["name", "surname", "naam", "nome", "nombre", "nom"]
          for b in ["is", "was", ":", "-", "?", "ist", "est", "es", "è", "é"]),
        "nazywam się",
        *(f"{a} {b}" for a in ["ik", "ich", "je", "eu"] for b in ["ben", "bin", "suis", "sou"]),
        "i am", "this is", "call me", "thank you", "goes by",
    }
)  # fmt: skip
"""The two words before a name that introduce it ("my name is X", "ich bin X", "this is X"), as "p2 p1"."""


@functools.lru_cache(maxsize=1)
def _cased_rules() -> tuple[list[dict[str, pl.Expr]], pl.Expr, pl.Expr, pl.Expr]:
    """The rules of `_cased_persons` as expressions over a run's columns (its own, its neighbours', the
    place lookups): the pieces that become columns (in stages: the later ones read the earlier ones),
    `accept`, `rest` and `can_join`. Built once: building them cost more than running them on a batch's few
    thousand runs."""
    p1, p2, p3 = pl.col("p1"), pl.col("p2"), pl.col("p3")
    # neighbour pairs and lowercase words, columns once (first stage): tokens hold no space, so "p2 p1"
    # equals "name is" exactly when p2 is "name" and p1 is "is"
    p21, p32 = pl.col("_p21"), pl.col("_p32")
    shared = {
        "_p21": p2 + " " + p1,
        "_p32": p3 + " " + p2,
        "_first_low": pl.col("first_tok").str.to_lowercase(),
    }
    honor = p1.is_in(_HONORIFICS) | ((p1 == ".") & p2.is_in(_HONORIFICS))
    intro = p21.is_in(_INTRO_BEFORE) | (p3 + " " + p21).is_in(["i ' m", "i ’ m", "name ' s", "name ’ s"])
    label = p1.is_in([":", "-", "?", "="]) & (p2.is_in(_LABELS) | p32.is_in(_LABELS))
    first_stage = {"honor": honor.fill_null(False), "intro_label": (intro | label).fill_null(False)}
    honor, intro_label = pl.col("honor"), pl.col("intro_label")
    signoff = (
        (p1.is_in([",", "-", "—", "!", "."]) & p2.is_in(_SIGNOFFS))
        | (pl.col("nl") & p1.is_in(_SIGNOFFS))
        | (pl.col("nl") & (p1 == ",") & p2.is_in(_SIGNOFFS))
    )
    # a name alone after a dash at the start of a line: "- Sarah", "— Tom" (signatures)
    dash_signature = p1.is_in(["-", "—", "–", "~"]) & pl.col("p1_nl") & pl.col("n1_nl")
    strong = (honor | intro_label | signoff | dash_signature | p1.is_in(_STRONG_PREV1)).fill_null(False)
    possessive = pl.col("n1").is_in(["'", "’"]) & (pl.col("n2") == "s")
    weak = (p1.is_in(_WEAK_PREV1) | pl.col("n1").is_in(_WEAK_NEXT1)).fill_null(False)
    # "ask X", "my sister X", "spoke with X", "X's": a person, even for a name the lexicon does not know
    weak_person = (p1.is_in(_WEAK_PERSON_PREV1) | p21.is_in(_WEAK_PERSON_PREV2) | possessive).fill_null(False)
    # "Johnson & Johnson", "Marks & Spencer", and companies named after people
    org = p1.is_in(["&", "+"]).fill_null(False) | pl.col("n1").is_in(["&", "+"]).fill_null(False)
    org = org | pl.col("_text_low").is_in(_ORGS) | pl.col("n1").is_in(_ORG_NEXT).fill_null(False)
    org = org | (possessive & pl.col("n3").is_in(_ORG_NEXT).fill_null(False))
    # "Bennett Mall", "Karl Johans gate 12", "Bağdat Caddesi": a name before a street word names the street
    street_next = (pl.col("n1").is_in(_street_words()[0]) & pl.col("n1_cap")) | pl.col("n1").is_in(_street_words()[1])
    org = org | street_next.fill_null(False)
    listed_product = (p1.is_in(_LIST_SEPS) & p2.is_in(_PRODUCTS)) | (
        pl.col("n1").is_in(_LIST_SEPS) & pl.col("n2").is_in(_PRODUCTS)
    )
    org = org | listed_product.fill_null(False)
    # "Jordan River", "Madison Stadium": the run's own last word makes it a place or a thing
    org = org | pl.col("last_tok").str.to_lowercase().is_in(_PLACE_LAST).fill_null(False)
    # "Via Appia", "rue Michelle Gauthier", "São Jorge": a street or a place named after a person
    street = (
        p1.is_in(_street_types())
        | ((p1 == ".") & p2.is_in(_street_types()))
        | pl.col("_first_low").is_in(_street_types())
    ).fill_null(False)
    # a capital at a sentence start is no evidence ("Carol singing starts...", "Apollo 11 landed")
    sentence_start = (p1.is_null() | p1.is_in([".", "!", "?", "(", "*", "#", ">"]) | pl.col("nl")).fill_null(False)
    # "Anna, ..." (a vocative), "Louise here, ...", or the whole text
    alone = pl.col("n1").is_null() | pl.col("n1").is_in([",", "!", ".", "here"])
    in_place_list = p1.is_in([",", "and", "or", "&", "/"]) & pl.col("p2_place").fill_null(False)
    loc_veto = (p1.is_in(_LOC_PREV1) | in_place_list).fill_null(False) & pl.col("single_place") & (pl.col("n") == 1)
    # a single first name that is also a city ("Elizabeth", "Austin") is only vetoed after "in", "to"...
    multi = pl.col("n") >= 2
    place_phrase = (
        (pl.col("place1").fill_null(False) & multi)
        | pl.col("is_place").fill_null(False)
        | (pl.col("all_place") & multi)
    )
    n, score = pl.col("n"), pl.col("score")
    not_all_common = pl.col("n_common") < n
    mid_loc = p1.is_in([w for w in _LOC_PREV1 if w not in ("from", "to", "of", "with", "by")]).fill_null(False)
    # the pieces become columns once: eager expressions are not shared, and each is used several times
    pieces = {
        "strong": strong,
        "weak": weak,
        "weak_person": weak_person,
        "org": org.fill_null(False),
        "street": street,
        "sentence_start": sentence_start,
        "alone": alone.fill_null(False),
        "loc_veto": loc_veto,
        "place_phrase": place_phrase.fill_null(False),
        "mid_loc": mid_loc,
        # a run in Cyrillic, Greek, Armenian... script set in a Latin sentence ("please ask Олена Коваль")
        "foreign": (
            ~pl.col("text").str.contains(r"[A-Za-z]")
            & ~pl.col("n1").str.contains(r"^[0-9]").fill_null(False)
            & pl.any_horizontal(pl.col(c).str.contains(r"^[a-z]") for c in ("p1", "p2", "n1", "n2")).fill_null(False)
        ),
    }
    strong, weak, weak_person, org, street, sentence_start, alone, loc_veto, place_phrase, mid_loc = (
        pl.col(k) for k in pieces if k != "foreign"
    )
    accept = (
        (strong & (score >= 1) & ~(loc_veto & ~honor))
        | (pl.col("foreign") & ((n >= 2) | pl.col("single_name") | weak) & ~place_phrase & ~loc_veto & ~street)
        # "Tavita said ...", "Kaimana and I": a verb only people do after it, whatever the lexicon says
        | (pl.col("n1").is_in(_PERSON_VERBS) & (score >= 1) & ~place_phrase & ~loc_veto & ~street)
        | (weak_person & (score >= 1) & ~loc_veto & ~street)
        | (
            weak
            & ~loc_veto
            & ~place_phrase
            & ~street
            & (
                ((n == 1) & pl.col("single_name") & ~pl.col("single_word"))
                | ((n >= 2) & (score >= 2) & not_all_common & ~mid_loc)
            )
        )
        # two or more capitalized tokens that are no words, mid-sentence: "our new hire Nisato Renlo"
        | ((n >= 2) & (score >= 2) & (pl.col("n_common") == 0) & ~sentence_start & ~mid_loc & ~place_phrase & ~street)
        # ... or a line of its own, or a line's first field: signatures, footers, CSV rows ("Tavita Faleolo,")
        | (
            (n >= 2)
            & (n <= 3)
            & (score >= 2)
            & (pl.col("n_common") == 0)
            & (pl.col("nl") | p1.is_null() | p1.is_in(["-", "—", "–", "*", "•", ">", "|"]))
            & (pl.col("n1_nl") | pl.col("n1").is_in([",", ";", "|", "<", "(", "-", "—", "–"]))
            & ~place_phrase
            & ~street
        )
        | (
            (n >= 2)
            & (score >= 3)
            & pl.col("any_name")
            & ~place_phrase
            # "Grant Park", "Will Power": a first token that is a common word needs a real surname
            & (~pl.col("first_common") | pl.col("last_surname"))
        )
        | ((n == 1) & pl.col("single_strong") & ~loc_veto & ~place_phrase & ~street & (~sentence_start | alone))
    )
    # an all-capitals name needs a neighbour that is a name too ("IBAN", "PAM" alone are acronyms)
    # "-Wuninitialized", "-Wstack-protector": glued to a dash, a word is a command-line option
    flag = (pl.col("glued") & (p1 == "-")).fill_null(False)
    lone_caps = (pl.col("n_caps") > 0) & (n == 1) & ~strong & ~weak_person & ~alone
    final = (accept & ~org & ~lone_caps & ~flag & ~(street & ~(honor | pl.col("intro_label")))).fill_null(False)
    # "Can Julian Uliasz pick up...": a sentence-initial common word before a name is not part of it
    rest = (
        ~pl.col("accept")
        & pl.col("first_common")
        & sentence_start
        & (n >= 2)
        & pl.col("rest_name")
        & ((score - pl.col("ev_first")) >= 2)
        & ~org
        & ~street
        & ~place_phrase
    ).fill_null(False)
    # "Can João Pedro Albuquerque pick up...": a question's verb is no part of the name after it
    first = pl.col("_first_low")
    lead_verb = (
        sentence_start & pl.col("rest_name") & (first.is_in(_LEAD_VERBS) | (first.is_in(["will", "may"]) & (n >= 3)))
    ).fill_null(False)
    can_join = ~org & ~street & ~loc_veto & (score >= 1) & ~pl.col("single_word")
    return [shared, first_stage, pieces], final, rest | (pl.col("accept") & lead_verb), can_join


def _cased_persons(base: pl.DataFrame, tok: pl.DataFrame) -> pl.DataFrame:
    if tok.height == 0:
        return pl.DataFrame(schema=_CAND)
    runs = _runs(_members(_kept_tokens(tok)))
    if runs.height == 0:
        return pl.DataFrame(schema=_CAND)
    runs = _run_context(runs, tok)
    # a run that is a place, or ends one ("San Francisco", "New York"); "offices in Austin, Charlotte and
    # London": a place after a place in a list is a place
    low = runs.get_column("text").str.to_lowercase()
    n_runs = runs.height
    phrases = pl.concat([low, (runs.get_column("p1") + " " + low), runs.get_column("p2")])
    places = _in_set(phrases, "places")  # one lookup for the three phrases of every run
    runs = runs.with_columns(
        _text_low=low,
        place1=places.slice(0, n_runs),
        is_place=places.slice(n_runs, n_runs),
        p2_place=places.slice(2 * n_runs, n_runs),
    )
    stages, accept, rest, can_join = _cased_rules()
    for pieces in stages:
        runs = runs.with_columns(**pieces)
    runs = runs.with_columns(accept=accept)
    runs = runs.with_columns(rest=rest).with_columns(
        accept=pl.col("accept") | pl.col("rest"),
        start=pl.when(pl.col("rest")).then(pl.col("start2")).otherwise(pl.col("start")),
    )
    place_phrase = pl.col("place_phrase")
    runs = runs.with_columns(accept=pl.col("accept") | (_email_agrees(runs, base) & can_join & ~place_phrase))
    # "X and I are going": a person, whatever the lexicon says
    runs = runs.with_columns(
        accept=pl.col("accept") | ((pl.col("n1") == "and") & (pl.col("n2") == "i") & can_join & ~place_phrase)
    )
    # lists of names: only the runs next to a list separator and another run take part (runs are in text
    # order, so a run's neighbour in the list is its neighbour in this frame and in the subset)
    linked = (
        (pl.col("row") == pl.col("row").shift(1))
        & (pl.col("kf") == pl.col("kl").shift(1) + 2)
        & pl.col("p1").is_in(_LIST_SEPS)
    ).fill_null(False)
    linked = runs.select(linked).to_series()
    in_list = (linked | linked.shift(-1).fill_null(False)).arg_true()
    if in_list.len():
        listed = _list_accept(
            runs[in_list], can_join, can_join & ~place_phrase & ~pl.col("single_place").fill_null(False)
        )
        runs = runs.with_columns(accept=runs.get_column("accept").clone().scatter(in_list, listed))
    found = runs.filter(pl.col("accept"))
    # report the original substring (a run is tokens joined by single spaces or an initial's dot)
    base_rows, found_rows = base.get_column("row").to_numpy(), found.get_column("row").to_numpy()
    at = np.minimum(np.searchsorted(base_rows, found_rows), max(len(base_rows) - 1, 0))
    if len(base_rows) and np.all(np.diff(base_rows) > 0) and np.array_equal(base_rows[at], found_rows):
        # rows ascending and distinct (as `detect` makes them): each finding's text by position
        found = found.with_columns(t=base.get_column("t").gather(at))
    else:
        found = found.join(base, on="row", how="left")
    found = found.with_columns(text=pl.col("t").str.slice(pl.col("start"), pl.col("end") - pl.col("start")))
    return _conform(found, _CAND)
