"""Tests of transforms.quality: one test per rule with realistic positives and negatives, the tags, the
config, the reports, and a run over the bundled sample data (planted categories caught, throughput)."""

import socket
import unicodedata
from pathlib import Path

import polars as pl
import pycld2
import pytest

from ftdata_assets import sample_data as sd
from ftdata_assets.project import RAW_SOURCE_DIRS
from ftdata_assets.schema import EXAMPLE_SCHEMA, is_valid_reason
from ftdata_assets.transforms import quality as q
from ftdata_assets.transforms.ingest import read_examples

ANSWER = "You can return any Lumora product within 30 days of delivery. Start the return in the app under Orders."


def conv(user: str, assistant: str = ANSWER, system: str | None = None) -> list[dict[str, str]]:
    turns = [{"role": "system", "content": system}] if system else []
    return [*turns, {"role": "user", "content": user}, {"role": "assistant", "content": assistant}]


def examples(*conversations: list[dict[str, str]], **columns: list) -> pl.DataFrame:
    """A frame with the canonical schema; ids and lines are filled in, other columns null unless given."""
    n = len(conversations)
    data = {
        "example_id": [f"id-{i}" for i in range(n)],
        "source": ["expert"] * n,
        "source_line": list(range(1, n + 1)),
        "messages": list(conversations),
        **columns,
    }
    frame = pl.DataFrame(data, schema_overrides={k: EXAMPLE_SCHEMA[k] for k in data})
    return frame.select(
        pl.col(name) if name in data else pl.lit(None, dtype=dtype).alias(name)
        for name, dtype in EXAMPLE_SCHEMA.items()
    )


def assess_one(messages: list[dict[str, str]], config=None) -> dict:
    return q.assess(examples(messages), config).row(0, named=True)


def contents(row: dict, role: str) -> list[str]:
    return [m["content"] for m in row["messages"] if m["role"] == role]


# -------------------------------------------------------------------------------------------- contract


def test_output_columns_types_and_row_order() -> None:
    frame = examples(conv("What is your refund window?"), conv("Wie setze ich den Hub zurück, bitte?"))
    out = q.assess(frame)
    # `tags` is both a canonical column (ingest's repairs) and a quality output: it moves to the outputs
    assert out.columns == [*(c for c in EXAMPLE_SCHEMA if c not in q.OUTPUT_COLUMNS), *q.OUTPUT_COLUMNS]
    assert dict(out.schema) == {**EXAMPLE_SCHEMA, **q.OUTPUT_COLUMNS}
    assert out["example_id"].to_list() == ["id-0", "id-1"]
    assert out["quality_score"].is_between(0.0, 1.0).all()
    assert all(is_valid_reason(r) for r in out["drop_reason"].drop_nulls())


def test_empty_frame_keeps_the_schema() -> None:
    out = q.assess(pl.DataFrame(schema=EXAMPLE_SCHEMA))
    assert out.height == 0
    assert dict(out.schema) == {**EXAMPLE_SCHEMA, **q.OUTPUT_COLUMNS}


def test_assess_is_idempotent() -> None:
    frame = examples(conv("Is the café open?".encode().decode("cp1252")), conv("What is your refund window?"))
    once = q.assess(frame)
    twice = q.assess(once)
    assert twice.columns == once.columns
    same = ["messages", "drop_reason", "token_count", "language"]
    assert twice.select(same).equals(once.select(same))
    assert "mojibake_repaired" in once["tags"][0]  # the repair is reported once, when it happens


def test_a_clean_english_row_passes_with_full_score() -> None:
    row = assess_one(conv("What is your refund window?", system="You are Lumora's support assistant."))
    assert row["drop_reason"] is None
    assert row["tags"] == []
    assert row["language"] == "en"
    assert row["quality_score"] == 1.0


# ----------------------------------------------------------------------------------------------- rules


@pytest.mark.parametrize(
    "answer", ["", "   ", "N/A", "n/a", "<noinput>", "<No Output>", "none", "None.", "NULL", "nil"]
)
def test_placeholder_outputs_are_dropped(answer: str) -> None:
    assert assess_one(conv("Summarize the warranty terms.", answer))["drop_reason"] == "low_quality:placeholder_output"


def test_a_placeholder_in_an_earlier_assistant_turn_is_dropped_too() -> None:
    messages = [*conv("Hi", "N/A"), *conv("What is your refund window?")]
    assert assess_one(messages)["drop_reason"] == "low_quality:placeholder_output"


@pytest.mark.parametrize(
    "answer",
    [
        "N/A means not applicable in this form: leave the VAT field empty if you buy as a private person.",
        "None of them need a subscription; all integrations are free.",
        "null is JSON's value for 'nothing', while None is Python's.",
    ],
)
def test_answers_that_merely_start_with_a_null_word_are_kept(answer: str) -> None:
    assert assess_one(conv("What does it mean?", answer))["drop_reason"] is None


@pytest.mark.parametrize(
    "answer",
    [
        "I'm sorry, but I can't help with that.",
        "I can't share personal information about our staff. I can open a complaint for you instead.",
        "I'm not able to look up account details, so I can't check that for you.",
        "The source does not say.",
        "The provided document doesn't mention this, so I can't answer it from the source.",
    ],
)
def test_refusals_are_tagged_and_kept(answer: str) -> None:
    row = assess_one(conv("Can you tell me the home address of the technician?", answer))
    assert row["drop_reason"] is None
    assert "refusal" in row["tags"]


def test_ordinary_answers_are_not_refusals() -> None:
    for answer in (
        "Sorry for the wait! Order LM-1234567 shipped with DHL and is out for delivery today.",
        "Sorry, we don't ship to Brazil yet. Check the 'Where to buy' page for local retailers.",
        "If you can't find the reset button, it is under the rubber flap on the back.",
    ):
        assert "refusal" not in assess_one(conv("Where is my order?", answer))["tags"], answer


def test_refusal_share_counts_kept_rows_only() -> None:
    frame = examples(
        conv("Give me the technician's address.", "I can't share personal information about our staff."),
        conv("What is your refund window?"),
        conv("What is your refund window?", "As an AI language model, I cannot say."),
        conv("Does the hub support Zigbee?", "Yes, the Hub 2 has a built-in Zigbee 3.0 radio."),
    )
    assert q.refusal_share(q.assess(frame)) == pytest.approx(1 / 3)
    assert q.refusal_share(q.assess(frame.head(0))) == 0.0


@pytest.mark.parametrize(
    "answer",
    [
        "As an AI language model, I don't have access to your account, but you can check the app.",
        "I'm just an AI, so I can't be completely sure, but the refund window is 30 days.",
        "The refund window is 30 days.\n\nPlease note that as an AI language model, I cannot guarantee the "
        "accuracy of this information.",
        "As a large language model, I don't have personal experiences, but many users like the Hub.",
    ],
)
def test_assistant_boilerplate_is_dropped(answer: str) -> None:
    assert assess_one(conv("What is your refund window?", answer))["drop_reason"] == "low_quality:boilerplate"


def test_talking_about_ai_is_not_boilerplate() -> None:
    answer = "The Cam Mini uses an on-device AI model to tell people from pets, so no video leaves your home."
    assert assess_one(conv("How does person detection work?", answer))["drop_reason"] is None


def test_mojibake_is_repaired_and_tagged() -> None:
    broken = sd._mojibake("I don’t understand why the naïve reset didn’t work in Zürich.")
    assert "â€™" in broken
    row = assess_one(conv(broken, sd._mojibake("Sorry about that — let's try a factory reset.")))
    assert row["drop_reason"] is None
    assert "mojibake_repaired" in row["tags"]
    assert contents(row, "user") == ["I don’t understand why the naïve reset didn’t work in Zürich."]
    assert contents(row, "assistant") == ["Sorry about that — let's try a factory reset."]
    assert row["quality_score"] < 1.0


def test_the_mojibake_tag_is_mojibake_repaired_only() -> None:
    assert "mojibake_repaired" in q.TAGS and "repaired_mojibake" not in q.TAGS


def test_ingest_repair_tags_survive_and_join_the_mojibake_tag() -> None:
    broken = sd._mojibake("The naïve reset didn’t work.")
    frame = examples(
        conv(broken),
        conv("What is your refund window?"),
        conv("Is the café open?"),
        tags=[["trimmed_trailing_user", "dropped_leading_turns"], ["removed_blank_turns"], None],
    )
    out = q.assess(frame)
    assert out["tags"].to_list() == [
        ["dropped_leading_turns", "mojibake_repaired", "trimmed_trailing_user"],
        ["removed_blank_turns"],
        [],
    ]
    summary = q.quality_summary(out)
    assert summary["by_tag"] == {
        "dropped_leading_turns": 1,
        "mojibake_repaired": 1,
        "removed_blank_turns": 1,
        "trimmed_trailing_user": 1,
    }
    # a dropped row keeps its tags too (the rejects and the review queue show what was repaired)
    lossy = q.assess(examples(conv(sd._mojibake("注文番号の商品がまだ届いていません。")), tags=[["merged_turns"]]))
    assert lossy["drop_reason"][0] == "low_quality:mojibake"
    assert "merged_turns" in lossy["tags"][0].to_list()


def test_the_mojibake_tag_is_a_canonical_column_so_the_curated_splits_keep_it() -> None:
    """The splits are written as the EXAMPLE_SCHEMA columns (split_assets), so the tag must be one of them."""
    out = q.assess(examples(conv(sd._mojibake("Why doesn’t the café’s Wi-Fi work?"))))
    curated = out.select(list(EXAMPLE_SCHEMA))
    assert curated.schema == EXAMPLE_SCHEMA
    assert curated["tags"].to_list() == [["mojibake_repaired"]]


def test_legitimate_accents_and_quotes_are_left_alone() -> None:
    text = "The café’s résumé service in Zürich — it’s “great”, costs €5 and naïve users love it."
    row = assess_one(conv(text, "Glad to hear it; the café’s Wi-Fi should be fine."))
    assert row["drop_reason"] is None
    assert "mojibake_repaired" not in row["tags"]
    assert contents(row, "user") == [text]


def test_lossy_mojibake_that_cannot_be_repaired_is_dropped() -> None:
    lossy = sd._mojibake("注文番号の商品がまだ届いていません。確認してもらえますか？")
    assert "\ufffd" in lossy
    assert assess_one(conv(lossy, "Let me check that order for you."))["drop_reason"] == "low_quality:mojibake"


def test_other_languages_are_dropped_unless_configured() -> None:
    user, answer = sd.NON_ENGLISH["de"][0]
    german = conv(user.format(order="LM-1234567"), answer.format(order="LM-1234567"), system="You are helpful.")
    row = assess_one(german)
    assert row["drop_reason"] == "low_quality:language"
    assert row["language"] == "de"
    assert "other_language" in row["tags"]
    assert assess_one(german, {"languages": ["en", "de"]})["drop_reason"] is None
    no_rule = assess_one(german, {"rules": [r for r in q.RULES if r != "language"]})
    assert no_rule["drop_reason"] is None
    assert "other_language" in no_rule["tags"]


def test_japanese_and_short_texts() -> None:
    user, answer = sd.NON_ENGLISH["ja"][2]
    assert assess_one(conv(user.format(product="Lumora Hub 2", days=5), answer))["language"] == "ja"
    short = assess_one(conv("ok", "Great!"))
    assert short["language"] == "und"  # too few letters to judge: kept
    assert short["drop_reason"] is None


# Support chats as they arrive: (user, assistant, language the row must get). The assistant answers in the
# user's language, as a multilingual deployment would; an English system prompt must not decide the language.
REAL_SHAPED = [
    (
        "Hi, I ordered the Lumora Hub 2 last week and it still hasn't arrived. Can you check order LM-1234567?",
        "I'm sorry about the wait. Order LM-1234567 left our warehouse on Monday and should arrive by Friday.",
        "en",
    ),
    (
        "Hallo, ich habe letzte Woche den Lumora Hub 2 bestellt und er ist immer noch nicht angekommen.",
        "Das tut mir leid. Ihre Bestellung wurde am Montag verschickt und sollte bis Freitag bei Ihnen sein.",
        "de",
    ),
    (
        "你好，我上周订购了 Lumora Hub 2，到现在还没有收到。可以帮我查一下订单吗？",
        "很抱歉让您久等了。您的订单已于周一发出，预计周五前送达。",
        "zh",
    ),
    (  # traditional characters: CLD2 says "zh-Hant", the pipeline says "zh"
        "您好，我上週訂購了 Lumora Hub 2，到現在還沒有收到。可以幫我查一下訂單嗎？",
        "很抱歉讓您久等了。您的訂單已於週一寄出，預計週五前送達。",
        "zh",
    ),
    (
        "مرحبا، لقد طلبت جهاز Lumora Hub 2 الأسبوع الماضي ولم يصل بعد. هل يمكنك التحقق من الطلب؟",
        "نعتذر عن التأخير. تم شحن طلبك يوم الاثنين ومن المتوقع أن يصل يوم الجمعة.",
        "ar",
    ),
    (  # CLD2 says "iw"
        "שלום, הזמנתי את Lumora Hub 2 בשבוע שעבר והוא עדיין לא הגיע. אתם יכולים לבדוק את ההזמנה?",
        "מצטערים על העיכוב. ההזמנה שלך נשלחה ביום שני ואמורה להגיע עד יום שישי.",
        "he",
    ),
    (
        "HI, I ORDERED THE LUMORA HUB 2 LAST WEEK AND IT STILL HASN'T ARRIVED. WHERE IS IT???",
        "Sorry about that! It shipped on Monday and should be with you by Friday.",
        "en",
    ),
    (
        "How do I read a CSV file line by line in Python without loading it all into memory?",
        "Use the csv module with a with block, so the file is closed for you:\n\n```python\nimport csv\n\n"
        "with open('daten.csv', newline='', encoding='utf-8') as f:\n    for zeile in csv.reader(f):\n"
        "        verarbeite(zeile)\n```\n\nEach row is a list of strings; `csv.DictReader` gives dicts instead.",
        "en",
    ),
    ("Wo ist meine Bestellung?", "Sie ist unterwegs.", "de"),  # short, still judged (36 letters)
    ("Danke!", "Gern geschehen.", "und"),  # too few letters to judge: kept
    ("ok", "Great!", "und"),
]


@pytest.mark.parametrize("detector", q.LANGUAGE_DETECTORS)
def test_real_shaped_rows_get_their_language_and_only_english_is_kept(detector: str) -> None:
    frame = examples(*(conv(u, a, system="You are Lumora's support assistant.") for u, a, _ in REAL_SHAPED))
    out = q.assess(frame, {"language_detector": detector})
    assert out["language"].to_list() == [lang for _, _, lang in REAL_SHAPED]
    dropped = (out["drop_reason"] == "low_quality:language").fill_null(False)
    assert dropped.to_list() == [lang not in ("en", "und") for _, _, lang in REAL_SHAPED]
    # the codes are the ones `languages:` names: allowing them keeps every row
    allowed = {"language_detector": detector, "languages": ["en", "de", "zh", "ar", "he"]}
    assert q.assess(frame, allowed)["drop_reason"].is_null().all()


def test_cld2_codes_are_the_pipelines_codes() -> None:
    assert [q.normalize_language_code(c) for c in ("iw", "zh-Hant", "jw", "nb", "un", "xx-Arab", "de")] == [
        "he",
        "zh",
        "jv",
        "no",
        "und",
        "und",
        "de",
    ]


def test_characters_cld2_refuses_do_not_break_detection() -> None:
    """pycld2 raises on C0/C1 controls and noncharacters ("invalid UTF-8"); they are blanked first."""
    german = "Kann ich den Hub zurückgeben?\x00 Ich habe ihn vor zehn Tagen\x85 gekauft.\ufdd0\x7f Danke!"
    with pytest.raises(pycld2.error):
        pycld2.detect(german.encode("utf-8"), isPlainText=True)
    assert q.detect_languages([german, german + "\uffff"]).to_list() == ["de", "de"]


def test_the_language_detector_is_validated() -> None:
    assert q.QualityConfig().language_detector == "cld2"
    assert q.QualityConfig.from_params({"language_detector": "fasttext"}).language_detector == "fasttext"
    with pytest.raises(ValueError, match=r"unknown language_detector 'cld3'; expected one of \['cld2', 'fasttext'\]"):
        q.QualityConfig.from_params({"quality": {"language_detector": "cld3"}})
    with pytest.raises(ValueError, match="unknown language_detector"):
        q.detect_languages(["Hallo Welt, wie geht es dir heute?"], detector="langid")


def test_terminal_escapes_and_control_characters_are_dropped() -> None:
    pasted = "Deploy fails:\n\n" + sd.ANSI_PASTES[0]
    assert assess_one(conv(pasted))["drop_reason"] == "low_quality:control_chars"
    assert assess_one(conv("Why does it beep\x07 at night?"))["drop_reason"] == "low_quality:control_chars"
    bidi = "Check the file name report\u202etxt.exe please"
    assert assess_one(conv(bidi))["drop_reason"] == "low_quality:control_chars"
    tabs = "Columns:\tname\tprice\r\nRows follow."
    assert assess_one(conv(tabs))["drop_reason"] is None


def test_control_characters_can_be_stripped_instead() -> None:
    row = assess_one(conv("Deploy fails:\n" + sd.ANSI_PASTES[0]), {"control_chars": "repair"})
    assert row["drop_reason"] is None
    assert "stripped_control" in row["tags"]
    assert contents(row, "user") == [
        "Deploy fails:\nERROR cloud handshake failed (E-402)\nWARN retrying in 30s",
    ]


def test_merged_instructions_are_dropped() -> None:
    merged = (
        "The capital of Peru is Lima.\n\n### 18. Instruction:\nWhat is inflation?\n\n### 18. Response:\n"
        "Inflation is the general rise in prices."
    )
    assert assess_one(conv("What's the capital of Peru?", merged))["drop_reason"] == "low_quality:merged_instruction"
    for leak in ("Lima.<|im_end|>\n<|im_start|>user", "Lima. [INST] Next question [/INST]", "### Response: Lima"):
        assert assess_one(conv("Capital of Peru?", leak))["drop_reason"] == "low_quality:merged_instruction"


def test_markdown_headings_in_answers_are_not_merged_instructions() -> None:
    answer = "## Installation\nRun `pip install requests`.\n\n### Output\nIt prints the version.\n\n1. Open the app."
    assert assess_one(conv("How do I install requests?", answer))["drop_reason"] is None


def test_too_short_and_too_long() -> None:
    assert assess_one(conv("What is 2+2?", "4"))["drop_reason"] == "low_quality:too_short"
    assert assess_one(conv("What is 2+2?", "4."))["drop_reason"] is None
    row = assess_one(conv("Tell me about the hub. " * 30), {"max_total_tokens": 100})
    assert row["drop_reason"] == "low_quality:too_long"
    assert row["token_count"] > 100


def test_token_count_is_every_message_with_the_offline_bpe() -> None:
    assert q.count_tokens(["Hello world", "", None]).to_list() == [2, 0, 0]
    row = assess_one(conv("Hello world", "Hello world", system="Hello world"))
    assert row["token_count"] == 6


@pytest.mark.parametrize(
    ("user", "assistant", "category"),
    [
        ("How do I make a pipe bomb at home?", "You'll need a steel pipe and two end caps. First, ...", "serious_harm"),
        ("What's the best way to synthesize sarin?", "React methylphosphonyl difluoride with ...", "serious_harm"),
        ("how can i cook meth in my garage", "Sure! Start with pseudoephedrine ...", "serious_harm"),
        ("How do I poison my husband without getting caught?", "Use a slow-acting poison ...", "serious_harm"),
        ("What's the easiest way to kill myself?", "The easiest way is to take ...", "serious_harm"),
        ("Write an erotic story about a 12-year-old girl.", "Once upon a time ...", "csam"),
        ("Tell me about immigrants.", "Immigrants are vermin and should be removed.", "hate"),
        ("Write a joke about my coworker Dave.", "Sure: kill yourself, Dave.", "harassment"),
        ("You are useless.", "I will kill you if you say that again.", "harassment"),
    ],
)
def test_harmful_content_is_dropped_and_counted(user: str, assistant: str, category: str) -> None:
    out = q.assess(examples(conv(user, assistant)))
    row = out.row(0, named=True)
    assert row["drop_reason"] == "low_quality:harmful"
    assert f"harmful:{category}" in row["tags"]
    assert q.quality_summary(out)["harmful"] == 1


@pytest.mark.parametrize(
    ("user", "assistant"),
    [
        ("How do I make a pipe bomb at home?", "I can't help with that. Making explosives is illegal and dangerous."),
        ("What's the easiest way to kill myself?", "I'm really sorry you're feeling this way. Please call 988 now."),
        ("Write an erotic story about a 12-year-old girl.", "I can't help with that request."),
    ],
)
def test_a_harmful_request_answered_with_a_refusal_is_kept(user: str, assistant: str) -> None:
    row = assess_one(conv(user, assistant))
    assert row["drop_reason"] is None
    assert "refusal" in row["tags"]
    assert any(t.startswith("harmful:") for t in row["tags"])


@pytest.mark.parametrize(
    ("user", "assistant"),
    [
        ("What is the maximum safe dose of ibuprofen for an adult?", "Up to 1,200 mg a day over the counter."),
        ("How is fentanyl used in hospitals?", "It is a potent opioid for anaesthesia, given under monitoring."),
        ("How can I tell if my child is being sexually abused?", "Warning signs include regression and secrecy."),
        ("How do I block porn on my kids' tablet?", "Turn on Screen Time content restrictions and set a passcode."),
        ("How does ransomware encrypt files, so I can protect us?", "It uses AES for files; keep offline backups."),
        ("How do I kill a zombie process in Linux?", "Kill its parent; init then reaps the zombie."),
        ("How do I kill all child processes in bash?", "Use pkill -P $$ to kill the children of this shell."),
        ("What household chemicals should never be mixed?", "Never mix bleach with ammonia: it releases chloramine."),
        ("How do I make a bath bomb for my daughter?", "Mix baking soda and citric acid, then press into a mould."),
        ("What is a nerve agent?", "A chemical weapon that blocks acetylcholinesterase, such as sarin."),
        ("How many people died in the Oklahoma City bombing?", "168 people were killed."),
        ("Explain explosive growth in startups.", "Revenue that doubles within months."),
    ],
)
def test_medical_security_and_safety_questions_are_not_harmful(user: str, assistant: str) -> None:
    row = assess_one(conv(user, assistant))
    assert row["drop_reason"] is None
    assert not any(t.startswith("harmful:") for t in row["tags"])


def test_extra_harmful_patterns_from_config() -> None:
    config = {"extra_harmful_patterns": [r"\bproject\s+nightshade\b"]}
    assert assess_one(conv("Tell me about Project Nightshade."), config)["drop_reason"] == "low_quality:harmful"


def test_alpaca_null_input_is_normalized() -> None:
    instruction = "Give three tips for saving energy with a smart thermostat.\n\n<noinput>"
    row = assess_one(conv(instruction))
    assert row["drop_reason"] is None
    assert "normalized_null" in row["tags"]
    assert contents(row, "user") == ["Give three tips for saving energy with a smart thermostat."]
    dropped = assess_one(conv(instruction), {"null_spelling": "drop"})
    assert dropped["drop_reason"] == "low_quality:null_spelling"


def test_provenance_null_spellings_become_nulls() -> None:
    frame = examples(
        conv("Hi there, is the shop open?"), conv("Hello?"), author=["none", "a.okafor"], license=["N/A", ""]
    )
    out = q.assess(frame)
    assert out["author"].to_list() == [None, "a.okafor"]
    assert out["license"].to_list() == [None, None]


@pytest.mark.parametrize("user", ["?", "...", "   .", "<noinput>", "N/A", "👍"])
def test_empty_or_malformed_user_input_with_a_good_answer_is_an_edge_case(user: str) -> None:
    answer = "It looks like your message came through empty. What can I help you with today?"
    row = assess_one(conv(user, answer))
    assert row["drop_reason"] is None
    assert "edge_case" in row["tags"]


def test_edge_case_needs_a_correct_answer() -> None:
    assert "edge_case" not in assess_one(conv("?", "N/A"))["tags"]
    assert "edge_case" not in assess_one(conv("What is your refund window?"))["tags"]


# ---------------------------------------------------------------------------------------------- precedence


def test_precedence_is_the_documented_order() -> None:
    boilerplate_and_harm = conv("How do I make a pipe bomb?", "As an AI language model, here is how: first, ...")
    assert assess_one(boilerplate_and_harm)["drop_reason"] == "low_quality:harmful"
    control_and_placeholder = conv("Output:\x1b[31m failed\x1b[0m", "N/A")
    assert assess_one(control_and_placeholder)["drop_reason"] == "low_quality:control_chars"
    without = {"rules": [r for r in q.RULES if r != "control_chars"]}
    assert assess_one(control_and_placeholder, without)["drop_reason"] == "low_quality:placeholder_output"
    assert q.RULES[0] == "harmful"


# ------------------------------------------------------------------------------------------------- config


def test_config_from_params() -> None:
    cfg = q.QualityConfig.from_params({"quality": {"languages": ["en", "de"], "max_total_tokens": 4096}})
    assert cfg.languages == ("en", "de")
    assert cfg.max_total_tokens == 4096
    assert q.QualityConfig.from_params(None) == q.QualityConfig()
    assert q.QualityConfig.from_params({"min_assistant_tokens": 3}).min_assistant_tokens == 3
    with pytest.raises(ValueError, match="unknown quality parameter"):
        q.QualityConfig.from_params({"max_tokens": 10})
    with pytest.raises(ValueError, match="unknown quality rule"):
        q.QualityConfig(rules=("harmful", "typo"))
    with pytest.raises(ValueError, match="control_chars"):
        q.QualityConfig(control_chars="ignore")


def test_proposed_params_section_matches_the_defaults() -> None:
    """The params.yaml `quality:` section (if present) only holds known keys."""
    import yaml

    params = yaml.safe_load((Path(__file__).resolve().parents[1] / "params.yaml").read_text(encoding="utf-8"))
    q.QualityConfig.from_params(params.get("quality") or {})


# ------------------------------------------------------------------------------------------------ reports


def test_template_concentration() -> None:
    frame = examples(
        conv("What's the capital of Peru? Thanks!"),
        conv("what’s the CAPITAL of Peru??"),
        conv("What's the capital of Chile?"),
        conv("Can I return my Hub?"),
    )
    top = q.template_concentration(frame, n_words=4, top=2)
    assert top.columns == ["opening", "count", "share"]
    assert top.row(0) == ("whats the capital of", 3, 0.75)
    assert top.row(1) == ("can i return my", 1, 0.25)
    assert q.template_concentration(frame.head(0)).height == 0


def test_quality_summary_counts() -> None:
    out = q.assess(examples(conv("Hi", "N/A"), conv("What is your refund window?")))
    summary = q.quality_summary(out)
    assert summary["rows"] == 2
    assert summary["kept"] == 1
    assert summary["by_reason"] == {"low_quality:placeholder_output": 1}


@pytest.mark.parametrize("detector", q.LANGUAGE_DETECTORS)
def test_nothing_is_downloaded(monkeypatch: pytest.MonkeyPatch, detector: str) -> None:
    """Tokenizer and language models load from installed files with the network cut."""
    q._encoding.cache_clear()
    q._language_detector.cache_clear()

    def refuse(*args, **kwargs):
        raise OSError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    german = conv("Kann ich den Hub zurückgeben? Ich habe ihn vor zehn Tagen gekauft.", "Ja, innerhalb von 30 Tagen.")
    row = assess_one(german, {"language_detector": detector})
    assert row["language"] == "de"
    assert row["token_count"] > 0


# ------------------------------------------------------------------------------------------- sample data


@pytest.fixture(scope="module")
def sample_examples(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    root = tmp_path_factory.mktemp("raw")
    sd.generate_sample(root)
    frames = []
    for source, folder in RAW_SOURCE_DIRS.items():
        for path in sorted((root / folder).iterdir()):
            frames.append(read_examples(path, source, root=root)[0])
    return pl.concat(frames)


def _planted_signatures() -> dict[str, pl.Expr]:
    """Which rows carry each planted problem, recognised from the generator's own constants."""

    def turns(role: str) -> pl.Expr:
        return pl.col("messages").list.eval(
            pl.element().filter(pl.element().struct.field("role") == role).struct.field("content")
        )

    def any_turn(role: str, texts: list[str]) -> pl.Expr:
        return (
            turns(role)
            .list.eval(pl.any_horizontal(*(pl.element().str.contains(t, literal=True) for t in texts)))
            .list.any()
        )

    mojibake = [sd._mojibake(p)[:12] for p in sd.MOJIBAKE_PHRASES]
    non_english = [u.split("{")[0][:14] for pairs in sd.NON_ENGLISH.values() for u, _ in pairs]
    return {
        "placeholder_output": turns("assistant")
        .list.eval(pl.element().is_in([p for p in sd.PLACEHOLDER_OUTPUTS if p]))
        .list.any(),
        "boilerplate": any_turn("assistant", [*sd.BOILERPLATE_PREFIXES, sd.BOILERPLATE_SUFFIX.strip()]),
        "refusal": turns("assistant").list.eval(pl.element().is_in(list(sd.REFUSALS))).list.any(),
        "merged_instruction": turns("assistant")
        .list.eval(pl.element().str.contains(r"### \d+\. Instruction:"))
        .list.any(),
        "terminal_escape": any_turn("user", list(sd.ANSI_PASTES)),
        "mojibake": any_turn("user", mojibake) | any_turn("assistant", mojibake),
        "non_english": any_turn("user", [t for t in non_english if t.strip()] + ["を工場出荷時", "は返品できますか"]),
        "placeholder_input": turns("user").list.eval(pl.element().str.ends_with("\n\n<noinput>")).list.any(),
    }


EXPECTED = {
    "placeholder_output": pl.col("drop_reason") == "low_quality:placeholder_output",
    "boilerplate": pl.col("drop_reason") == "low_quality:boilerplate",
    "refusal": pl.col("drop_reason").is_null() & pl.col("tags").list.contains("refusal"),
    "merged_instruction": pl.col("drop_reason") == "low_quality:merged_instruction",
    "terminal_escape": pl.col("drop_reason") == "low_quality:control_chars",
    "mojibake": pl.col("tags").list.contains("mojibake_repaired"),
    "non_english": pl.col("drop_reason") == "low_quality:language",
    "placeholder_input": pl.col("tags").list.contains("normalized_null"),
}


def test_sample_data_planted_problems_are_caught(sample_examples: pl.DataFrame) -> None:
    out = q.assess(sample_examples)
    flagged = pl.concat([out, sample_examples.select(**_planted_signatures())], how="horizontal")
    rates = {}
    for category, expected in EXPECTED.items():
        rows = flagged.filter(pl.col(category))
        assert rows.height > 0, category
        caught = rows.filter(expected.fill_null(False)).height
        # a row can carry two plants; an earlier rule in the precedence then wins (e.g. control_chars)
        other_rule = rows.filter(pl.col("drop_reason").is_not_null() & ~expected.fill_null(False)).height
        rates[category] = f"{caught}/{rows.height} by its rule, {other_rule} by an earlier one"
        assert caught / rows.height >= 0.95, (category, caught, rows.height)
    clean = flagged.filter(~pl.any_horizontal(*(pl.col(c) for c in EXPECTED)))
    assert clean.filter(pl.col("drop_reason").is_not_null()).height <= 0.005 * clean.height
    assert q.quality_summary(out)["harmful"] == 0  # the sample plants no harmful content
    assert 0.01 < q.refusal_share(out) < 0.10  # planted + organic out-of-scope refusals
    print("\nplanted rows caught:", rates)


# ------------------------------------------------------------------------------------- speed-ups, same results


def _reference_language(
    text: str | None, min_confidence: float = 0.5, min_letters: int = 20, detector: str = "cld2"
) -> str:
    """The per-text algorithm the batched path must reproduce: letters, all-caps lowering, one library call."""
    letters = sum(unicodedata.category(c).startswith("L") for c in text or "")
    if not text or letters < min_letters:
        return "und"
    if sum(unicodedata.category(c) == "Lu" for c in text) > 0.8 * letters:
        text = text.lower()
    if detector == "cld2":
        _, code, percent, _ = pycld2.detect(text.encode("utf-8"), isPlainText=True)[2][0]
        return q.normalize_language_code(code) if percent / 100 >= min_confidence else "und"
    best = q._language_detector().detect(text, model="lite", k=1)[0]
    return best["lang"] if best["score"] >= min_confidence else "und"


LANGUAGE_TEXTS = [
    "What is your refund window for the hub I bought last week?",
    None,
    "",
    "ok",
    "WHAT IS YOUR REFUND WINDOW FOR THE HUB I BOUGHT LAST WEEK?",
    "Wie setze ich den Hub zurück, bitte? Ich habe ihn gestern gekauft.",
    "What is your refund window for the hub I bought last week?",
    "ÉCRIVEZ EN MAJUSCULES S'IL VOUS PLAÎT, JE NE VOIS PAS BIEN L'ÉCRAN",
    "line one\nline two\r\nline three\u2028line four, with enough letters",
    "注文番号の商品がまだ届いていません。確認してもらえますか？",
    "",
    None,
]


@pytest.mark.parametrize("detector", q.LANGUAGE_DETECTORS)
def test_languages_of_duplicates_nulls_and_all_caps_match_the_per_text_algorithm(detector: str) -> None:
    expected = [_reference_language(t, detector=detector) for t in LANGUAGE_TEXTS]
    assert q.detect_languages(LANGUAGE_TEXTS, detector=detector).to_list() == expected
    assert q.detect_languages(pl.Series(LANGUAGE_TEXTS), detector=detector).to_list() == expected
    assert expected[4] == "en"  # all caps is lowered, not read as Japanese
    assert expected[5] == "de"
    assert expected[9] == "ja"
    assert q.detect_languages([], detector=detector).to_list() == []


def test_the_language_worker_process_gives_the_same_languages(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = LANGUAGE_TEXTS * 3
    expected = [_reference_language(t, detector="fasttext") for t in texts]
    monkeypatch.setattr(q, "PARALLEL_LANGUAGE_TEXTS", 1)
    monkeypatch.setattr(q, "_cpu_count", lambda: 2)
    calls = []
    answer = q._language_worker_answer
    monkeypatch.setattr(q, "_language_worker_answer", lambda w, n: calls.append(n) or answer(w, n))
    assert q.detect_languages(texts, detector="fasttext").to_list() == expected
    assert calls and calls[0] > 0  # the worker answered for its half
    calls.clear()
    assert q.detect_languages(texts).to_list() == [_reference_language(t) for t in texts]
    assert calls == []  # CLD2 runs in this process only: a worker costs more than it saves


@pytest.mark.parametrize("breakage", ["no_python", "bad_module"])
def test_a_failing_language_worker_falls_back_to_the_same_languages(
    monkeypatch: pytest.MonkeyPatch, breakage: str
) -> None:
    texts = LANGUAGE_TEXTS * 3
    expected = [_reference_language(t, detector="fasttext") for t in texts]
    monkeypatch.setattr(q, "PARALLEL_LANGUAGE_TEXTS", 1)
    monkeypatch.setattr(q, "_cpu_count", lambda: 2)
    if breakage == "no_python":
        monkeypatch.setattr(q.sys, "executable", "/nonexistent/python")
    else:
        monkeypatch.setattr(q, "__name__", "ftdata_assets.no_such_module")
    assert q.detect_languages(texts, detector="fasttext").to_list() == expected


def test_token_counts_of_duplicates_and_nulls() -> None:
    encode = q._encoding(None).encode_ordinary
    texts = ["Hello world", None, "", "Hello world", "<|endoftext|> twice", "naïve café", "<|endoftext|> twice"]
    assert q.count_tokens(texts).to_list() == [len(encode(t)) if t else 0 for t in texts]
    assert q.count_tokens(pl.Series(texts)).name == "token_count"
    assert q.count_tokens([]).to_list() == []


def _tricky_examples() -> pl.DataFrame:
    """Repeated contents in different roles, rows and batches; null contents, null and empty message lists."""
    broken = "Is the café open?".encode().decode("cp1252")
    rows = [
        conv("N/A", "N/A"),
        [{"role": "assistant", "content": "N/A"}, {"role": "user", "content": "N/A"}],
        conv("Give three tips.\n\n<noinput>"),
        [{"role": "assistant", "content": "Give three tips.\n\n<noinput>"}, *conv("Give three tips.\n\n<noinput>")],
        conv(broken, "Yes, the café’s open until 9."),
        conv("What is your refund window?"),
        [{"role": "user", "content": None}, {"role": "assistant", "content": None}],
        [],
        None,
        [None, {"role": "user", "content": "WHAT IS YOUR REFUND WINDOW FOR THE HUB I BOUGHT?"}, None],
        [None],
        conv(broken, "Yes, the café’s open until 9."),
        conv("Output:\x1b[31m failed\x1b[0m", "\x1b[0m"),
        conv("Wie setze ich den Hub zurück, bitte? Ich habe ihn gestern gekauft.", "Halten Sie die Taste gedrückt."),
        conv("What is your refund window?", "As an AI language model… I’d say 30 days."),
        conv("Sure, é kill yourself é", "Certainly! ### Response: é"),
    ]
    return examples(*rows)


@pytest.mark.parametrize("config", [None, {"control_chars": "repair"}, {"null_spelling": "drop"}])
def test_batches_and_shared_contents_give_the_results_of_one_row_at_a_time(
    monkeypatch: pytest.MonkeyPatch, config: dict | None
) -> None:
    frame = _tricky_examples()
    one_by_one = pl.concat([q.assess(frame.slice(i, 1), config) for i in range(frame.height)])
    assert q.assess(frame, config).equals(one_by_one)
    monkeypatch.setattr(q, "BATCH_ROWS", 3)
    monkeypatch.setattr(q, "PARALLEL_LANGUAGE_TEXTS", 2)
    monkeypatch.setattr(q, "_cpu_count", lambda: 2)
    assert q.assess(frame, config).equals(one_by_one)


def test_null_message_elements_are_dropped_and_other_rows_keep_their_lists() -> None:
    out = q.assess(_tricky_examples())
    assert out["messages"][9].to_list() == [
        {"role": "user", "content": "WHAT IS YOUR REFUND WINDOW FOR THE HUB I BOUGHT?"}
    ]
    assert out["messages"][10].to_list() == [None]  # nothing left to rebuild from: kept as is
    assert out["messages"][7].to_list() == []
    assert out["messages"][8] is None
    assert out["messages"][0].to_list() == conv("N/A", "N/A")
    assert out["messages"][4].to_list()[0]["content"] == "Is the café open?"


@pytest.mark.parametrize(
    ("pattern", "loose"),
    [
        (r"\bfoo\b", "foo"),
        (r"\Bx\b{end}", "x"),
        (r"[\b]x", None),  # inside a class: left alone (no boundary outside it)
        (r"[]a]\bz", r"[]a]z"),  # a leading "]" is a literal, the class goes on
        (r"[^]a]\bz", r"[^]a]z"),
        (r"\\b", None),  # an escaped backslash and a "b"
        (r"\b", None),  # nothing left to prefilter with
        (r"plain", None),
    ],
)
def test_word_boundary_prefilter_pattern(pattern: str, loose: str | None) -> None:
    assert q._loose_pattern(pattern) == loose


def test_prefiltered_matching_equals_the_exact_patterns(sample_examples: pl.DataFrame) -> None:
    """Every pattern list, on the sample's messages plus non-ASCII neighbours of the words (where \\b differs)."""
    texts = pl.concat(
        [
            sample_examples.select(pl.col("messages").explode().struct.field("content")).to_series(),
            pl.Series(["émeth é", "é meth é", "kysé", "é kys", "ÀS AN AI LANGUAGE MODEL", "as an ai language modelé"]),
            pl.Series(["I’m sorry, but I can’t help — ça", "ñi can't help with thatñ", None, ""]),
        ]
    )
    lists = [
        *(q.HARM_PATTERNS[c] for c in q.HARM_CATEGORIES),
        q.REFUSAL_PATTERNS,
        q.BOILERPLATE_PATTERNS,
        q.MERGED_INSTRUCTION_PATTERNS,
        (q._SYCOPHANTIC_OPENER,),
    ]
    for patterns in lists:
        pattern = q._any_of(patterns)
        assert (q._loose_pattern(pattern) is None) == ("\\b" not in pattern)
        assert q._contains(texts, pattern).equals(texts.str.contains(pattern)), patterns[0]
