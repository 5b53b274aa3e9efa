"""SECRET."""

from __future__ import annotations

import polars as pl

from ftdata_assets.transforms.pii.base import _COLS, _context, _filter, _LiteralGroups, _matches, _rx, _typed

# --------------------------------------------------------------------------------------------------------
# SECRET
# --------------------------------------------------------------------------------------------------------

_KEY_HEADER = r"-----BEGIN[A-Z ]{0,20} PRIVATE KEY(?: BLOCK)?-----"
_PRIVATE_KEY = (
    # a whole block (newlines may be JSON-escaped "\n"), or a truncated one: the header and its body lines
    _KEY_HEADER + r"(?:\s|\\n|[A-Za-z0-9+/=:,\-])*?-----END[A-Z ]{0,20} PRIVATE KEY(?: BLOCK)?-----"
    "|" + _KEY_HEADER + r"(?:(?:\s|\\n)*[A-Za-z0-9+/=]{16,})+"
)
_SECRET_TOKENS = _rx(
    "|".join(
        [
            r"\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}\b",  # AWS access key id
            r"\bgh[pousr]_[A-Za-z0-9]{36,}\b",  # GitHub
            r"\bgithub_pat_[A-Za-z0-9_]{22,}\b",
            r"\bglpat-[A-Za-z0-9_\-]{20,}",  # GitLab
            r"\bxox[abposr]-[A-Za-z0-9\-]{10,}",  # Slack
            r"https://hooks\.slack\.com/services/T[A-Za-z0-9_]+/B[A-Za-z0-9_]+/[A-Za-z0-9_]+",
            r"\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}\b",  # Stripe secret / restricted
            r"\bsk-[A-Za-z0-9_\-]{20,}",  # OpenAI, Anthropic (sk-ant-...), DeepSeek, ...
            r"\bAIza[0-9A-Za-z_\-]{35}",  # Google API key
            r"\bya29\.[0-9A-Za-z_\-]{20,}",  # Google OAuth access token
            r"\bhf_[A-Za-z0-9]{30,}\b",  # Hugging Face
            r"\bnpm_[A-Za-z0-9]{36}\b",
            r"\bpypi-AgE[A-Za-z0-9_\-]{50,}",
            r"\bSK[0-9a-f]{32}\b",  # Twilio API key
            r"\bSG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}\b",  # SendGrid
            r"\bkey-[0-9a-f]{32}\b",  # Mailgun
            r"\bsq0(?:atp|csp)-[0-9A-Za-z_\-]{22,}",  # Square
            r"\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}\b",  # Shopify
            r"\bdo[opr]_v1_[a-f0-9]{64}\b",  # DigitalOcean
            r"\bdapi[a-f0-9]{32}\b",  # Databricks
            r"\b[0-9]{8,10}:AA[0-9A-Za-z_\-]{33}\b",  # Telegram bot
            r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",  # JWT
        ]
    )
)
_SECRET_LITERALS = [
    "AKIA", "ASIA", "ABIA", "ACCA", "A3T", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-",
    "xox", "hooks.slack.com", "sk_", "rk_", "sk-", "AIza", "ya29.", "hf_", "npm_", "pypi-", "SK", "SG.",
    "key-", "sq0", "shp", "_v1_", "dapi", ":AA", "eyJ",
]  # fmt: skip
_KEY = (
    # PGPASSWORD, db_password, client-secret, "api_key"; but not "bypass" or "max_tokens"
    r"(?:\b[a-z0-9_\-.]*(?:password|passwd|passphrase|secret|secret[_\-]?key|api[_\-]?key|apikey|"
    r"access[_\-]?key(?:[_\-]?id)?|auth[_\-]?token|access[_\-]?token|refresh[_\-]?token|bearer[_\-]?token|"
    r"client[_\-]?secret|private[_\-]?key|accountkey)|\b(?:[a-z0-9]+[_\-.])*(?:pass|pwd|token))\b"
)
_ASSIGN = r"[\"']?\s*(?::=|=>|[:=])\s*"
# each alternative is (prefix)(value); _matches reports the value and which alternative matched
_SECRET_VALUES = [
    # quoted values: `{3,}` and a length check afterwards (a counted `{3,200}` of a negated class makes the
    # whole alternation's automaton 200-fold larger)
    ("quoted", "(" + _KEY + _ASSIGN + r"\")([^\"\n]{3,})\""),
    ("squoted", "(" + _KEY + _ASSIGN + r"')([^'\n]{3,})'"),
    ("assign", "(" + _KEY + _ASSIGN + r")([^\s\"'`,;<>(){}\[\]]{3,})"),
    ("flag", r"(--(?:password|passwd|pass|token|api-key|secret)[= ])([^\s\"'\-][^\s\"']{2,})"),
    ("url", r"(\b[a-z][a-z0-9+.\-]{1,20}://[^\s:/@]{1,64}:)([^\s@/]{3,})@"),  # scheme://user:password@host
    ("said", r"(\bpassword\s+is\s*:?\s*[\"']?)([^\s\"']{6,})"),
    ("bearer", r"(\bbearer\s+)([A-Za-z0-9\-._~+/]{20,}=*)"),
    ("basic", r"(\bbasic\s+)([A-Za-z0-9+/]{16,}={0,2})"),
]
_KEYED_ALTS = 3
"""The first alternatives share the `key = value` prefix; they run as one regex and the others as another:
one alternation of all eight is a regex the engine handles three times slower than the two halves."""
_SECRET_VALUE_PASSES = [
    _rx("(?i)" + "|".join(p for _, p in _SECRET_VALUES[:_KEYED_ALTS])),
    _rx("(?i)" + "|".join(p for _, p in _SECRET_VALUES[_KEYED_ALTS:])),
]
_SECRET_ALT = {name: i for i, (name, _) in enumerate(_SECRET_VALUES)}
_SECRET_KEYWORDS = ["pass", "pwd", "secret", "key", "token", "://", "bearer", "basic"]
_NOT_SECRETS = [
    "str", "string", "int", "bool", "none", "null", "nil", "true", "false", "undefined", "required",
    "optional", "any", "text", "varchar", "password", "secret", "token", "env", "environ", "getenv",
    "config", "settings", "self", "this", "value", "input", "example", "placeholder", "redacted", "hidden",
    "masked", "empty", "missing", "invalid", "incorrect", "wrong", "expired", "correct", "your_password",
    "yourpassword", "your-password", "mypassword", "your_api_key", "your-api-key", "your_token", "api_key",
    "apikey", "xxx", "xxxx", "xxxxx", "xxxxxx", "xxxxxxxx", "abc", "foo", "bar", "baz", "test", "dummy",
    "sample", "string|null", "secretstr", "data", "type", "field", "form", "user", "username", "auth",
    "header", "headers", "params", "query", "body", "request", "response",
]  # fmt: skip


_PREFILTERS = _LiteralGroups([(["-----BEGIN"], False), (_SECRET_LITERALS, False), (_SECRET_KEYWORDS, True)])
"""The literals a text must hold for the private-key, the token and the key = value regexes (case-sensitive,
case-sensitive, any ASCII case): one Aho-Corasick pass finds all three."""


def _secrets(base: pl.DataFrame) -> pl.DataFrame:
    # literal (Aho-Corasick) prefilters: the regexes only see the few rows that can match
    has = _PREFILTERS.bits(base.get_column("t"))
    keys = _matches(base.filter(pl.Series((has & 1) > 0)), _PRIVATE_KEY)
    tokens = _matches(base.filter(pl.Series((has & 2) > 0)), _SECRET_TOKENS)
    tokens = _filter(tokens, ~pl.col("text").str.starts_with("sk-") | pl.col("text").str.contains(r"[0-9]"))
    keyed = base.filter(pl.Series((has & 4) > 0))
    first, second = (_matches(keyed, pattern, group=2) for pattern in _SECRET_VALUE_PASSES)
    v = pl.concat([first, second.with_columns(pl.col("alt") + _KEYED_ALTS)]).sort(["row", "start"])
    strip = pl.col("text").str.strip_chars_end(".,;:!?)]}")
    v = v.with_columns(
        end=pl.col("end") - (pl.col("text").str.len_chars() - strip.str.len_chars()).cast(pl.Int64), text=strip
    )
    text, alt = pl.col("text"), pl.col("alt")
    if v.height:
        # "password = getpass()", "token = get_token(user)": a function call, not a value
        v = _filter(_context(v, base, 0, 1), ~pl.col("right_ctx").str.starts_with("("))
    quoted = alt.is_in([_SECRET_ALT["quoted"], _SECRET_ALT["squoted"]])
    v = _filter(
        v,
        (text.str.len_chars() >= 3)
        & (~quoted | (text.str.len_chars() <= 200))
        & ~text.str.to_lowercase().is_in(_NOT_SECRETS)
        # variables and templates ("${DB_PASS}", "%(pw)s", "{{ secret }}", "<your key>"), masks ("****")
        & ~text.str.contains(r"^\$\{|^\$[A-Za-z_]|^%\(|^%[A-Za-z_]+%$|^\{|^<|^\.\.\.|^x+$|^\*+$|^•+$|^\?+$|^[-_.]+$")
        & ~text.str.contains(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+$")  # obj.attr
        & ~text.str.contains(r"(?i)^(?:os|env|process|config|settings|self|secrets)(?-u:\b)")
        # "my password is ..." needs something that looks like a password, not an English word
        & ((alt != _SECRET_ALT["said"]) | (text.str.contains(r"[A-Za-z]") & text.str.contains(r"[0-9\W_]")))
        & ((alt != _SECRET_ALT["basic"]) | text.str.contains(r"[0-9+/=]")),
    ).select(_COLS)
    return _typed(pl.concat([keys, tokens, v]), "SECRET")
