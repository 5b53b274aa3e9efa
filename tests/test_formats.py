"""Public dataset and benchmark shapes: Alpaca with `response` (GPTeacher), Dolly, HH transcripts, OASST trees,
ChatML text, a params.yaml field mapping, and the benchmark files of the usual eval shapes.

The fixtures under tests/fixtures/formats/ are small hand-written files in each public shape (field names,
nesting and oddities of the real sets; none of their text).
"""

import shutil
from pathlib import Path

import orjson
import polars as pl
import pytest

from ftdata_assets.schema import FORMAT_EXTRAS, FORMATS, RAW_SCHEMA, ReasonCode
from ftdata_assets.transforms.benchmarks import read_benchmarks
from ftdata_assets.transforms.data_card import render_data_card
from ftdata_assets.transforms.ingest import (
    IngestError,
    check_field_maps,
    field_map_for,
    format_counts,
    read_raw,
    split_raw,
)
from ftdata_assets.transforms.settings import IngestConfig, ParamsError

FIXTURES = Path(__file__).parent / "fixtures" / "formats"


def raw(name: str, source: str = "expert", **kwargs) -> pl.DataFrame:
    frame = read_raw(FIXTURES / name, source, **kwargs)
    assert frame.schema == RAW_SCHEMA
    return frame


def turns(frame: pl.DataFrame, row: int) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in frame["messages"][row]]


def records(name: str) -> list[dict]:
    data = (FIXTURES / name).read_bytes()
    if name.endswith(".json"):  # a JSON array, as LLaMA-Factory ships its data files
        return orjson.loads(data)
    return [orjson.loads(line) for line in data.splitlines() if line.strip()]


def extras(frame: pl.DataFrame, row: int) -> dict:
    value = frame["extras"][row]
    return orjson.loads(value) if value is not None else {}


# -------------------------------------------------------------------------------- the ledger per format

# file -> (format, raw rows, examples, {reason: rejects})
EXPECTED = {
    "gpteacher.jsonl": ("alpaca", 4, 2, {ReasonCode.EMPTY_CONTENT: 1, ReasonCode.MISSING_FIELD: 1}),
    "dolly.jsonl": ("dolly", 4, 3, {ReasonCode.EMPTY_CONTENT: 1}),
    "hh.jsonl": ("hh", 4, 2, {ReasonCode.EMPTY_CONTENT: 1, ReasonCode.WRONG_TYPE: 1}),
    "oasst_trees.jsonl": ("oasst", 4, 3, {ReasonCode.EMPTY_CONTENT: 1}),  # 3 trees: 2 + 1 paths, 1 reject
    "chatml.jsonl": ("chatml", 3, 2, {ReasonCode.BAD_ROLE: 1}),
    "preference.jsonl": ("preference", 5, 4, {ReasonCode.WRONG_TYPE: 1}),
    # LLaMA-Factory's shapes: tool calling (a rejected role keeps the format), preference, KTO
    "llamafactory_tools.json": ("sharegpt", 4, 3, {ReasonCode.BAD_ROLE: 1}),
    "llamafactory_dpo.json": ("sharegpt_preference", 5, 2, {ReasonCode.BAD_TURN_ORDER: 2, ReasonCode.WRONG_TYPE: 1}),
    "kto.json": ("chat", 3, 2, {ReasonCode.UNDESIRABLE_LABEL: 1}),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_format_is_detected_and_its_ledger_balances(name: str) -> None:
    fmt, rows, kept, reasons = EXPECTED[name]
    frame = raw(name)
    examples, rejects = split_raw(frame)
    assert frame.height == rows
    assert set(frame["format"]) == {fmt}  # rejects of a recognized shape carry the format too
    assert examples.height == kept
    assert dict(rejects.group_by("reason").len().iter_rows()) == reasons
    counts = format_counts(frame)
    assert counts == {fmt: {"rows": rows, "examples": kept, "rejected": rows - kept}}
    assert counts[fmt]["rows"] == examples.height + rejects.height
    # every input record is accounted for: one row each, except an OASST tree (one row per path)
    lines = set(frame["source_line"])
    assert lines == set(range(1, len(records(name)) + 1))


def test_a_folder_of_every_format_balances_per_format_and_in_all(tmp_path: Path) -> None:
    frames = [raw(name) for name in sorted(EXPECTED)]
    frames.append(raw("expert_qa.jsonl", field_map={"question": "user", "answer": "assistant"}))
    both = pl.concat(frames)
    counts = format_counts(both)
    assert set(counts) == {*(e[0] for e in EXPECTED.values()), "mapped"}
    assert all(c["rows"] == c["examples"] + c["rejected"] for c in counts.values())
    examples, rejects = split_raw(both)
    assert sum(c["rows"] for c in counts.values()) == both.height == examples.height + rejects.height
    assert sum(c["examples"] for c in counts.values()) == examples.height


# -------------------------------------------------------------------------------- each shape


def test_gpteacher_response_is_the_answer_and_input_joins_the_instruction() -> None:
    frame = raw("gpteacher.jsonl")
    assert turns(frame, 0) == [
        ("user", "Rewrite the sentence in the passive voice.\n\nThe committee approved the new budget."),
        ("assistant", "The new budget was approved by the committee."),
    ]
    assert turns(frame, 1)[0] == ("user", "List three uses of a paperclip.")  # a blank input adds nothing
    assert frame["detail"][3] == "output (or response) is missing (alpaca record)"
    assert frame["extras"].is_null().all()


def test_dolly_context_is_the_input_category_is_provenance_and_system_leads() -> None:
    frame = raw("dolly.jsonl")
    source = records("dolly.jsonl")
    assert turns(frame, 0) == [
        ("user", f"{source[0]['instruction']}\n\n{source[0]['context']}"),
        ("assistant", source[0]["response"]),
    ]
    assert [extras(frame, i).get("category") for i in range(3)] == ["closed_qa", "brainstorming", "classification"]
    assert turns(frame, 2)[0] == ("system", "Answer in one short sentence.")  # `system` beside a Dolly row
    assert all("closed_qa" not in content for _, content in turns(frame, 0))  # never in the conversation
    assert frame["reason"][3] == ReasonCode.EMPTY_CONTENT


def test_hh_chosen_is_trained_on_and_rejected_is_only_kept_as_provenance() -> None:
    frame = raw("hh.jsonl")
    source = records("hh.jsonl")
    assert turns(frame, 1) == [
        ("user", "What's a good name for a grey cat?"),
        ("assistant", "Smoky, Ash or Pebble are popular."),
        ("user", "Something more unusual?"),
        ("assistant", "Maybe Graphite or Nimbus."),
    ]
    assert extras(frame, 0) == {"rejected": source[0]["rejected"]}
    examples, _ = split_raw(frame)
    assert "extras" not in examples.columns  # the rejected answer never reaches the examples
    contents = [m["content"] for conversation in examples["messages"] for m in conversation]
    assert not any("Basil cannot grow indoors" in c or c == "Cat." for c in contents)
    # an empty last answer is a blank turn: nothing answers the question, so nothing to train on
    assert frame["detail"][2] == "no assistant turn (1 blank turn removed)"
    assert frame["detail"][3] == "chosen holds no Human:/Assistant: turn"


def test_preference_rows_train_on_chosen_and_keep_rejected() -> None:
    frame = raw("preference.jsonl")
    assert turns(frame, 0) == [
        ("user", "What should I pack for a day hike?"),
        ("assistant", "Water, a snack, a rain layer and a map."),
    ]  # an HH prompt and its chosen answer are one transcript
    assert turns(frame, 1)[1] == ("assistant", "The meeting is now on Thursday; the room was taken.")
    assert turns(frame, 2) == [("user", "Is 17 a prime number?"), ("assistant", "Yes, 17 is prime.")]
    assert turns(frame, 3) == [("user", "Name a warm colour."), ("assistant", "Orange.")]  # not asked twice
    assert extras(frame, 0) == {"rejected": " Nothing at all."}
    assert extras(frame, 2) == {"rejected": [{"role": "assistant", "content": "No."}]}
    assert frame["detail"][4] == "chosen is a number, expected a string or an array"


def test_oasst_tree_gives_one_example_per_path_by_best_rank() -> None:
    frame = raw("oasst_trees.jsonl")
    assert frame["source_line"].to_list() == [1, 1, 2, 3]
    first, second = turns(frame, 0), turns(frame, 1)
    # both follow-ups of the best-ranked (rank 0) answer; the rank-1 answer is not trained on
    assert [role for role, _ in first] == ["user", "assistant", "user", "assistant"]
    assert first[:2] == second[:2] and first[1][1].startswith("It is lower")
    assert (first[2][1], second[2][1]) == ("Does that change cooking times?", "What about at sea level?")
    assert second[3] == ("assistant", "100 °C at standard pressure.")  # the deleted rank-1 sibling is gone
    assert extras(frame, 0) == {"lang": "en", "message_tree_id": "t1", "message_ids": ["m1", "m2", "m4", "m6"]}
    # a failed-review answer is skipped even though it ranked first; lang kept per tree
    assert turns(frame, 2) == [("user", "¿Cuál es la capital de Australia?"), ("assistant", "La capital es Canberra.")]
    assert extras(frame, 2)["lang"] == "es"
    # paths of one tree share a conversation id (one split group), other trees do not
    conversation = frame["conversation_id"].to_list()
    assert conversation[0] == conversation[1] != conversation[2]
    assert frame["example_id"][0] != frame["example_id"][1]
    assert frame["reason"][3] == ReasonCode.EMPTY_CONTENT and "deleted" in frame["detail"][3]


def unranked_tree() -> dict:
    """An OASST tree exported without `rank` fields (like the README's example): two answers to the prompt,
    the first with a follow-up that has two answers of its own, one of them deleted."""

    def message(mid: str, role: str, text: str, *replies: dict, **fields) -> dict:
        return {"message_id": mid, "role": role, "text": text, "lang": "en", "replies": list(replies), **fields}

    return {
        "message_tree_id": "u1",
        "prompt": message(
            "p1",
            "prompter",
            "How do I keep a sourdough starter alive while I am away for two weeks?",
            message(
                "a1",
                "assistant",
                "Feed it, let it rise for an hour, then keep it in the fridge; feed it again when you are back.",
                message(
                    "p2",
                    "prompter",
                    "Will it smell strange when I take it out?",
                    message("a3", "assistant", "A little sour, yes; two feedings bring it back."),
                    message("a4", "assistant", "Spam.", deleted=True),
                ),
            ),
            message("a2", "assistant", "Dry some of it on baking paper and rehydrate the flakes when you return."),
        ),
    }


def test_an_oasst_tree_without_ranks_gives_every_answered_path(tmp_path: Path) -> None:
    """No rank says which answer is better: every reviewed answer is followed (not the first one listed)."""
    path = tmp_path / "unranked.jsonl"
    path.write_bytes(orjson.dumps(unranked_tree()) + b"\n")
    frame = read_raw(path, "expert")
    assert frame["reason"].to_list() == [None, None]
    assert [extras(frame, i)["message_ids"] for i in range(2)] == [["p1", "a1", "p2", "a3"], ["p1", "a2"]]
    assert turns(frame, 1)[1][1].startswith("Dry some of it")  # the second answer is trained on too
    assert frame["conversation_id"].n_unique() == 1  # one split group
    assert format_counts(frame) == {"oasst": {"rows": 2, "examples": 2, "rejected": 0}}

    # one ranked answer is enough to follow the ranking: the best-ranked answer only, unranked ones lose
    ranked = unranked_tree()
    ranked["prompt"]["replies"][1]["rank"] = 0
    path.write_bytes(orjson.dumps(ranked) + b"\n")
    assert extras(read_raw(path, "expert"), 0)["message_ids"] == ["p1", "a2"]
    assert read_raw(path, "expert").height == 1


def test_oasst_tree_in_a_json_array_and_a_deleted_prompt(tmp_path: Path) -> None:
    trees = records("oasst_trees.jsonl")
    deleted = orjson.loads(orjson.dumps(trees[0]))
    deleted["prompt"]["deleted"] = True
    path = tmp_path / "trees.json"
    path.write_bytes(orjson.dumps([trees[0], deleted]))
    frame = read_raw(path, "expert")
    assert frame["format"].to_list() == ["oasst"] * 3
    assert frame["source_line"].to_list() == [1, 1, 2]
    assert frame["detail"][2] == "the tree's prompt is deleted or failed review"


def test_a_long_oasst_thread_needs_a_higher_max_json_depth(tmp_path: Path) -> None:
    """Each message nests two levels (itself and its replies): 16 messages on a path exceed the default depth 32."""
    node: dict | None = None
    for k in reversed(range(16)):
        role = "prompter" if k % 2 == 0 else "assistant"
        node = {"message_id": f"m{k}", "role": role, "text": f"turn {k}", "rank": 0, "replies": [node] if node else []}
    path = tmp_path / "deep.jsonl"
    path.write_bytes(orjson.dumps({"message_tree_id": "deep", "prompt": node}) + b"\n")
    assert read_raw(path, "expert")["reason"].to_list() == [ReasonCode.TOO_DEEP]
    deep = read_raw(path, "expert", max_json_depth=64)
    assert deep["reason"].to_list() == [None] and len(deep["messages"][0]) == 16


def test_llamafactory_tool_calls_are_assistant_turns_tagged_and_recoverable() -> None:
    frame = raw("llamafactory_tools.json")
    first = turns(frame, 0)
    assert [role for role, _ in first] == ["user", "assistant", "tool", "assistant", "user", "assistant"]
    call = orjson.loads(first[1][1])  # the call is kept verbatim: the JSON the model must learn to write
    assert call == {
        "name": "convert_currency",
        "arguments": {"amount": 250, "from_currency": "USD", "to_currency": "EUR"},
    }
    assert first[2] == ("tool", '{"converted_amount": 231.75, "rate": 0.927}')
    assert frame["tags"][0].to_list() == ["tool_calls_as_assistant"]
    kept = extras(frame, 0)
    assert kept["tool_call_turns"] == [1]  # which assistant turns were function_call: the role stays recoverable
    assert orjson.loads(kept["tools"])[0]["name"] == "convert_currency"  # the definitions, kept with the row
    assert set(kept) == set(FORMAT_EXTRAS["sharegpt"])
    # no tool turn: nothing tagged, and `tools: "[]"` is no tools
    assert frame["tags"][1].to_list() == [] and frame["extras"][1] is None
    assert extras(frame, 2)["tool_call_turns"] == [1, 5]  # two calls in one conversation
    # an unknown role is still refused, and the reject counts under the shape that was recognized
    assert frame["reason"][3] == ReasonCode.BAD_ROLE and "'function_response'" in frame["detail"][3]
    assert frame["format"][3] == "sharegpt"


def test_a_tool_call_in_a_repaired_conversation_keeps_its_position(tmp_path: Path) -> None:
    """Positions are those of the final messages: after a dropped leading turn and a removed blank turn."""
    record = {
        "conversations": [
            {"from": "gpt", "value": "...and that is the end of the earlier answer."},
            {"from": "human", "value": "Convert 10 pounds to kilograms."},
            {"from": "gpt", "value": "  "},
            {"from": "function_call", "value": '{"name": "convert_units", "arguments": {"value": 10, "from": "lb"}}'},
            {"from": "observation", "value": '{"kilograms": 4.54}'},
            {"from": "gpt", "value": "10 pounds is 4.54 kilograms."},
        ]
    }
    path = tmp_path / "chunk.jsonl"
    path.write_bytes(orjson.dumps(record) + b"\n")
    frame = read_raw(path, "expert")
    assert [role for role, _ in turns(frame, 0)] == ["user", "assistant", "tool", "assistant"]
    assert extras(frame, 0) == {"tool_call_turns": [1]}
    assert frame["tags"][0].to_list() == ["dropped_leading_turns", "removed_blank_turns", "tool_calls_as_assistant"]
    # the same conversation with a plain assistant turn instead of the call has the same id (same content)
    record["conversations"][3]["from"] = "gpt"
    path.write_bytes(orjson.dumps(record) + b"\n")
    assert read_raw(path, "expert")["example_id"][0] == frame["example_id"][0]


def test_a_function_call_role_in_openai_chat_is_still_bad_role(tmp_path: Path) -> None:
    """OpenAI chat writes calls as `tool_calls` on an assistant message; a `function_call` role there is unknown."""
    record = {"messages": [{"role": "user", "content": "hi"}, {"role": "function_call", "content": "{}"}]}
    path = tmp_path / "chat.jsonl"
    path.write_bytes(orjson.dumps(record) + b"\n")
    frame = read_raw(path, "expert")
    assert frame["reason"].to_list() == [ReasonCode.BAD_ROLE]
    assert frame["format"].to_list() == ["chat"]  # the shape was recognized
    assert format_counts(frame) == {"chat": {"rows": 1, "examples": 0, "rejected": 1}}


def test_llamafactory_preference_rows_train_on_chosen_and_keep_rejected() -> None:
    frame = raw("llamafactory_dpo.json")
    assert turns(frame, 0) == [
        ("user", "Give me one tip for keeping basil alive indoors."),
        (
            "assistant",
            "Keep it on the sunniest windowsill you have and water it when the top of the soil feels dry.",
        ),
    ]
    assert extras(frame, 0) == {"rejected": {"from": "gpt", "value": "Basil cannot be grown indoors."}}
    assert set(extras(frame, 0)) <= set(FORMAT_EXTRAS["sharegpt_preference"])
    second = turns(frame, 1)
    assert second[0] == ("system", "You are a concise cooking assistant.")
    assert [role for role, _ in second] == ["system", "user", "assistant", "user", "assistant"]
    assert second[-1][1].startswith("About 9 to 10 minutes")
    # the rejected answer never reaches the messages
    assert not any("Eggs are best fried" in content for _, content in second)
    assert "ends with assistant" in frame["detail"][2]  # a prompt that already holds its answer
    assert "chosen holds user" in frame["detail"][3]
    assert frame["detail"][4] == "chosen is a string, expected a {from, value} object or array"


def test_kto_rows_labelled_false_are_rejected_not_trained_on() -> None:
    frame = raw("kto.json")
    assert frame["reason"].to_list() == [None, ReasonCode.UNDESIRABLE_LABEL, None]
    assert "undesirable" in frame["detail"][1]
    assert orjson.loads(frame["original"][1])["label"] is False  # the record stays in the rejects, for KTO
    assert turns(frame, 0)[1][1].startswith("Air molecules scatter")
    assert frame["format"].to_list() == ["chat"] * 3


def test_chatml_text_turns() -> None:
    frame = raw("chatml.jsonl")
    assert turns(frame, 0) == [
        ("system", "You are a concise assistant."),
        ("user", "What is 12 times 12?"),
        ("assistant", "144."),
    ]
    assert [role for role, _ in turns(frame, 1)] == ["user", "assistant", "user", "assistant"]
    assert "narrator" in frame["detail"][2]


@pytest.mark.parametrize(
    ("text", "reason", "words"),
    [
        ("stray preamble <|im_start|>user\nq<|im_end|><|im_start|>assistant\na<|im_end|>", "wrong_type", "outside"),
        ("<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n", "empty_content", "no assistant turn"),
    ],
)
def test_chatml_text_that_is_not_clean_turns_is_rejected(tmp_path: Path, text: str, reason: str, words: str) -> None:
    path = tmp_path / "c.jsonl"
    path.write_bytes(orjson.dumps({"text": "<|im_start|>user\nok<|im_end|><|im_start|>assistant\nok<|im_end|>"}))
    path.write_bytes(path.read_bytes() + b"\n" + orjson.dumps({"text": text}) + b"\n")
    frame = read_raw(path, "expert")
    assert frame["reason"].to_list() == [None, reason] and words in frame["detail"][1]
    assert frame["format"].to_list() == ["chatml", "chatml"]


def test_plain_text_is_still_no_conversation(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b'{"text": "a pretraining document"}\n{"prompt": "q", "completion": "a"}\n')
    frame = read_raw(path, "expert")
    assert frame["reason"].to_list() == [ReasonCode.UNKNOWN_FORMAT, None]
    assert frame["format"].to_list() == [None, "prompt_completion"]
    assert format_counts(frame)["none"] == {"rows": 1, "examples": 0, "rejected": 1}


def test_format_extras_table_matches_what_is_kept() -> None:
    assert set(FORMAT_EXTRAS) <= set(FORMATS)
    assert set(extras(raw("oasst_trees.jsonl"), 0)) == set(FORMAT_EXTRAS["oasst"])
    assert set(extras(raw("hh.jsonl"), 0)) == set(FORMAT_EXTRAS["hh"])
    assert set(extras(raw("preference.jsonl"), 0)) == set(FORMAT_EXTRAS["preference"])
    assert set(extras(raw("dolly.jsonl"), 0)) == set(FORMAT_EXTRAS["dolly"])


# -------------------------------------------------------------------------------- a file of no known shape


def test_a_file_of_no_known_format_stops_naming_it_and_showing_a_record(tmp_path: Path) -> None:
    with pytest.raises(IngestError) as error:
        read_raw(FIXTURES / "expert_qa.jsonl", "expert")
    message = str(error.value)
    assert "expert_qa.jsonl" in message and "none of its records matches a known format" in message
    assert '{"question": "How long is the warranty on the Lumora kettle?"' in message  # the first record
    assert "ingest.field_maps" in message
    # OpenAssistant's flat message list is named as such
    flat = tmp_path / "oasst_messages.jsonl"
    message = {"message_id": "m1", "parent_id": None, "text": "Hi?", "role": "prompter", "message_tree_id": "m1"}
    flat.write_bytes(orjson.dumps(message) + b"\n")
    with pytest.raises(IngestError, match=r"flat message list .* \(\*\.trees\.jsonl\)"):
        read_raw(flat, "expert")
    # benchmark files read the rows themselves
    assert read_raw(FIXTURES / "expert_qa.jsonl", "expert", require_format=False).height == 3


# -------------------------------------------------------------------------------- the field mapping


def test_a_field_mapping_makes_turns_and_rejects_a_row_missing_a_mapped_field() -> None:
    frame = raw("expert_qa.jsonl", field_map={"question": "user", "answer": "assistant"})
    assert frame["format"].to_list() == ["mapped"] * 3
    assert turns(frame, 0) == [
        ("user", "How long is the warranty on the Lumora kettle?"),
        ("assistant", "Two years from the date of purchase."),
    ]
    assert frame["author"].to_list()[:2] == ["support-team", "support-team"]  # provenance still read
    assert frame["reason"][2] == ReasonCode.MISSING_FIELD
    assert frame["detail"][2] == "answer is missing (ingest.field_maps makes it the assistant turn)"


def test_a_mapping_can_rename_to_a_known_format_and_join_fields_of_one_role(tmp_path: Path) -> None:
    path = tmp_path / "faq.jsonl"
    rows = [{"q": "Where is the reset button?", "notes": "Model X2", "a": "Under the lid.", "sys": "Be brief."}]
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    renamed = read_raw(path, "expert", field_map={"q": "instruction", "notes": "input", "a": "response"})
    assert renamed["format"][0] == "alpaca"
    assert turns(renamed, 0)[0] == ("user", "Where is the reset button?\n\nModel X2")
    joined = read_raw(path, "expert", field_map={"sys": "system", "q": "user", "notes": "user", "a": "assistant"})
    assert turns(joined, 0) == [
        ("system", "Be brief."),
        ("user", "Where is the reset button?\n\nModel X2"),
        ("assistant", "Under the lid."),
    ]


def test_a_mapped_field_no_record_has_stops_naming_the_file_and_the_field() -> None:
    with pytest.raises(IngestError) as error:
        read_raw(FIXTURES / "expert_qa.jsonl", "expert", field_map={"query": "user", "answer": "assistant"})
    message = str(error.value)
    assert "expert_qa.jsonl" in message and "'query'" in message and "no record of the file has" in message
    assert "'answer'" not in message.split("first record")[0]


@pytest.mark.parametrize(
    ("maps", "words"),
    [
        ({"expert": {"question": "usr"}}, "'question' maps to 'usr', which is not a role or a field"),
        ({"exprt": {"question": "user"}}, "'exprt' is neither a source"),
        ({"expert": {}}, "non-empty mapping"),
        ({"expert": ["question", "user"]}, "non-empty mapping"),
    ],
)
def test_a_bad_mapping_in_params_yaml_is_refused_with_its_key(maps: dict, words: str) -> None:
    with pytest.raises(ParamsError, match=r"params\.yaml `ingest\.field_maps`") as error:
        IngestConfig.from_params({"max_line_bytes": 10, "max_json_depth": 5, "id_salt": "s", "field_maps": maps})
    assert words in str(error.value)
    with pytest.raises(ValueError, match="not a role or a field"):
        read_raw(FIXTURES / "expert_qa.jsonl", "expert", field_map={"question": "usr"})


def test_mappings_by_source_and_by_file_glob_merge() -> None:
    maps = check_field_maps(
        {
            "expert": {"question": "user", "answer": "assistant"},
            "expert/faq_*.jsonl": {"answer": "output", "question": "instruction"},
            "*.parquet": {"body": "text"},
        }
    )
    assert field_map_for(maps, "expert", "expert/qa.jsonl") == {"question": "user", "answer": "assistant"}
    assert field_map_for(maps, "expert", "expert/faq_1.jsonl") == {"question": "instruction", "answer": "output"}
    assert field_map_for(maps, "synthetic", "synthetic/b1.parquet") == {"body": "text"}
    assert field_map_for(maps, "feedback", "feedback/f.jsonl") == {}
    assert IngestConfig.from_params({"max_line_bytes": 10, "max_json_depth": 5, "id_salt": "s"}).field_maps == {}


# -------------------------------------------------------------------------------- benchmarks


def test_benchmark_files_of_the_usual_eval_shapes_are_read(tmp_path: Path) -> None:
    for name in ("mt_bench.jsonl", "arena_hard.jsonl", "alpaca_eval.json", "mmlu_style.csv", "truthfulqa_style.csv"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    (tmp_path / "mmlu_headerless.csv").write_text(
        '"Which planet has the most moons?",Mars,Saturn,Venus,Mercury,B\n"What is 7 squared?",14,49,77,21,B\n'
    )
    (tmp_path / "scores.csv").write_text("model,score\na,1\n")
    items, problems = read_benchmarks(tmp_path)
    by_file = dict(items.group_by("benchmark").len().iter_rows())
    assert by_file == {
        "alpaca_eval.json": 2,
        "arena_hard.jsonl": 2,
        "mmlu_headerless.csv": 2,
        "mmlu_style.csv": 2,
        "mt_bench.jsonl": 2,
        "truthfulqa_style.csv": 2,
    }
    text = dict(zip(zip(items["benchmark"], items["item"], strict=True), items["text"], strict=True))
    mt = records("mt_bench.jsonl")[0]["turns"]
    assert text["mt_bench.jsonl", 1] == "\n".join(mt)  # every user turn of the question
    assert text["arena_hard.jsonl", 2].startswith("Explain the difference between a LEFT JOIN")
    assert text["alpaca_eval.json", 1] == "What are the names of some famous lighthouses?"  # an empty output
    assert text["mmlu_style.csv", 1] == "Which gas makes up most of Earth's atmosphere?"
    assert text["truthfulqa_style.csv", 1] == "What happens if you swallow chewing gum?"  # not the answers
    assert text["mmlu_headerless.csv", 1] == "Which planet has the most moons?"
    assert problems["benchmark"].to_list() == ["scores.csv"]
    assert "no prompt column" in problems["detail"][0]


# -------------------------------------------------------------------------------- metadata and data card


def test_raw_metadata_and_the_data_card_give_rows_per_format(tmp_path: Path) -> None:
    from ftdata_assets.defs.raw_assets import describe_raw
    from tests.test_data_card import make_facts

    files = [FIXTURES / name for name in ("dolly.jsonl", "oasst_trees.jsonl")]
    frame = pl.concat([read_raw(p, "expert", root=FIXTURES) for p in files])
    meta = describe_raw(frame, files)
    assert meta["rows_by_format"].data == {
        "dolly": {"rows": 4, "examples": 3, "rejected": 1},
        "oasst": {"rows": 4, "examples": 3, "rejected": 1},
    }
    assert meta["formats_by_file"].data == {"dolly.jsonl": {"dolly": 4}, "oasst_trees.jsonl": {"oasst": 4}}
    card = render_data_card({**make_facts(), "formats": meta["rows_by_format"].data})
    assert "## Rows per input format" in card
    assert "| `dolly` | 4 | 3 | 1 |" in card and "| `oasst` | 4 | 3 | 1 |" in card
    assert "## Rows per input format" not in render_data_card(make_facts())  # an optional fact
