"""Typed settings of the `ingest`, `dedup`, `split`, `decontamination` and `review` sections of params.yaml.

Each section is one frozen dataclass whose field defaults are the only defaults of the pipeline: the assets
read a section once (`from_params`) and pass the typed object on, so no code path keeps its own
`.get(key, default)`. A key the class does not know, a missing required key or a bad value raises
`ParamsError` naming params.yaml, the section and the key (and the keys or values expected): a typo must fail
the run, not fall back to a default silently. Values are checked on construction, so `dataclasses.replace`
(a run-config override) is checked too. `quality` and `policy` have their own classes (`QualityConfig`,
`ProvenancePolicy`), `pii` has `PiiSettings`.
"""

import dataclasses
import math
from collections.abc import Mapping
from typing import Any, ClassVar, Self

from ftdata_assets.schema import SOURCES, SPLITS
from ftdata_assets.transforms.dedup import DEFAULT_SOURCE_PRIORITY
from ftdata_assets.transforms.ingest import LEADING_ASSISTANT_POLICIES, check_field_maps
from ftdata_assets.transforms.prompts import CONFLICT_KINDS
from ftdata_assets.transforms.semantic_dedup import DEFAULT_EMBEDDING_MODEL, EMBEDDING_MODELS

HOLD_POLICIES: tuple[str, ...] = ("hold", "keep")
"""review.contradictions / review.synthetic_sample: hold the undecided rows out of the splits, or keep them."""


class ParamsError(ValueError):
    """A params.yaml section or value the pipeline cannot run with; the message says where and what is expected."""


def _where(section: str, key: str | None = None) -> str:
    return f"params.yaml `{section}.{key}`" if key else f"params.yaml `{section}`"


def _fail(section: str, key: str, expected: str, value: Any) -> ParamsError:
    value = list(value) if isinstance(value, tuple) else value  # from_params reads YAML lists as tuples
    return ParamsError(f"{_where(section, key)} must be {expected}, not {type(value).__name__} {value!r}")


def _number(section: str, key: str, value: Any, *, low: float, high: float, low_open: bool = False) -> float:
    """A float in [low, high] ((low, high] with low_open); ints are accepted, bools and strings are not."""
    bracket = "(" if low_open else "["
    expected = f"a number in {bracket}{low:g}, {high:g}]"
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise _fail(section, key, expected, value)
    if value > high or value < low or (low_open and value == low):
        raise _fail(section, key, expected, value)
    return float(value)


def _integer(section: str, key: str, value: Any, *, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise _fail(section, key, f"an integer >= {low}", value)
    return value


def _text(section: str, key: str, value: Any, *, numbers: bool = False) -> str:
    """A non-empty string (with `numbers`, an int is accepted too and read as its digits: a numeric seed)."""
    if numbers and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value.strip():
        raise _fail(section, key, "a non-empty string", value)
    return value


def _choice(section: str, key: str, value: Any, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise _fail(section, key, f"one of {list(choices)}", value)
    return value


def _names(section: str, key: str, value: Any, choices: tuple[str, ...]) -> tuple[str, ...]:
    """A non-empty list of distinct names out of `choices`, as a tuple (its order kept)."""
    expected = f"a list of distinct names out of {list(choices)}"
    if isinstance(value, str) or not isinstance(value, list | tuple) or not value:
        raise _fail(section, key, expected, value)
    if any(not isinstance(v, str) or v not in choices for v in value) or len(set(value)) != len(value):
        raise _fail(section, key, expected, value)
    return tuple(value)


class _Section:
    """`from_params` for a frozen dataclass: unknown and missing keys refused, lists read as tuples."""

    SECTION: ClassVar[str]

    @classmethod
    def from_params(cls, params: Mapping[str, Any] | None) -> Self:
        """From the section's mapping in params.yaml (None or an empty section: every default)."""
        if params is None:
            params = {}
        if not isinstance(params, Mapping):
            raise ParamsError(f"{_where(cls.SECTION)} must be a mapping of keys, not {type(params).__name__}")
        known = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
        unknown = sorted(str(k) for k in params if k not in known)
        if unknown:
            raise ParamsError(f"{_where(cls.SECTION)}: unknown key(s) {unknown}; expected some of {sorted(known)}")
        required = [
            f.name
            for f in dataclasses.fields(cls)  # type: ignore[arg-type]
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        ]
        missing = [k for k in required if k not in params]
        if missing:
            raise ParamsError(f"{_where(cls.SECTION)}: missing required key(s) {missing}")
        return cls(**{str(k): tuple(v) if isinstance(v, list) else v for k, v in params.items()})


def _set(obj: object, name: str, value: Any) -> None:
    object.__setattr__(obj, name, value)  # normalizing a field of a frozen dataclass in __post_init__


@dataclasses.dataclass(frozen=True)
class IngestConfig(_Section):
    """`ingest:`: limits on one input line, the salt of hashed conversation/user ids, per-source field maps."""

    SECTION: ClassVar[str] = "ingest"
    max_line_bytes: int
    max_json_depth: int
    id_salt: str
    leading_assistant: str = "drop"
    field_maps: Mapping[str, Mapping[str, str]] | None = None
    """{source or file glob: {field: role or known field}}; None or {} maps nothing (`ingest.check_field_maps`)."""

    def __post_init__(self) -> None:
        s = self.SECTION
        _integer(s, "max_line_bytes", self.max_line_bytes, low=1)
        _integer(s, "max_json_depth", self.max_json_depth, low=1)
        _text(s, "id_salt", self.id_salt)
        _choice(s, "leading_assistant", self.leading_assistant, LEADING_ASSISTANT_POLICIES)
        try:
            maps = check_field_maps(self.field_maps or {}, _where(s, "field_maps"))
        except ValueError as error:
            raise ParamsError(str(error)) from None
        _set(self, "field_maps", maps)


@dataclasses.dataclass(frozen=True)
class SemanticConfig(_Section):
    """`dedup.semantic:`: same-question clusters from sentence embeddings; `threshold` None = the model's own."""

    SECTION: ClassVar[str] = "dedup.semantic"
    model: str = DEFAULT_EMBEDDING_MODEL
    threshold: float | None = None

    def __post_init__(self) -> None:
        _choice(self.SECTION, "model", self.model, tuple(EMBEDDING_MODELS))
        if self.threshold is None:
            _set(self, "threshold", EMBEDDING_MODELS[self.model].suggested_threshold)
        _set(self, "threshold", _number(self.SECTION, "threshold", self.threshold, low=-1.0, high=1.0))


@dataclasses.dataclass(frozen=True)
class DedupConfig(_Section):
    """`dedup:`: exact + near duplicates of whole conversations, then same-question rows (see `deduplicate`).

    The MinHash settings (`num_perm`, `shingle_size`, `seed`) are also the split grouping's."""

    SECTION: ClassVar[str] = "dedup"
    near_threshold: float
    prompt_threshold: float = 0.8
    answer_agreement: float = 0.5
    contradiction_kinds: tuple[str, ...] = CONFLICT_KINDS
    semantic: SemanticConfig | None = None
    previous_version: str | None = None
    num_perm: int = 128
    shingle_size: int = 3
    seed: str = "ftdata-dedup-v1"
    source_priority: tuple[str, ...] = DEFAULT_SOURCE_PRIORITY

    def __post_init__(self) -> None:
        s = self.SECTION
        _set(
            self, "near_threshold", _number(s, "near_threshold", self.near_threshold, low=0.0, high=1.0, low_open=True)
        )
        _set(
            self,
            "prompt_threshold",
            _number(s, "prompt_threshold", self.prompt_threshold, low=0.0, high=1.0, low_open=True),
        )
        _set(self, "answer_agreement", _number(s, "answer_agreement", self.answer_agreement, low=0.0, high=1.0))
        kinds = CONFLICT_KINDS if self.contradiction_kinds is None else self.contradiction_kinds
        if kinds != ():  # [] is allowed: no conflict kind makes a contradiction
            kinds = _names(s, "contradiction_kinds", kinds, CONFLICT_KINDS)
        _set(self, "contradiction_kinds", kinds)
        if isinstance(self.semantic, Mapping):  # an empty mapping is off, as null
            _set(self, "semantic", SemanticConfig.from_params(self.semantic) if self.semantic else None)
        elif self.semantic is not None and not isinstance(self.semantic, SemanticConfig):
            raise _fail(s, "semantic", "null or a mapping {model, threshold}", self.semantic)
        if self.previous_version is not None:
            _text(s, "previous_version", self.previous_version)
        _integer(s, "num_perm", self.num_perm, low=1)
        _integer(s, "shingle_size", self.shingle_size, low=1)
        _set(self, "seed", _text(s, "seed", self.seed, numbers=True))
        priority = DEFAULT_SOURCE_PRIORITY if self.source_priority is None else self.source_priority
        _set(self, "source_priority", _names(s, "source_priority", priority, SOURCES))


@dataclasses.dataclass(frozen=True)
class SplitConfig(_Section):
    """`split:`: the group-hash seed, the share of each split, and how similar user turns must be to be grouped."""

    SECTION: ClassVar[str] = "split"
    seed: str
    ratios: Mapping[str, float]
    leak_threshold: float = 0.5

    def __post_init__(self) -> None:
        s = self.SECTION
        _set(self, "seed", _text(s, "seed", self.seed, numbers=True))
        expected = f"a mapping of {list(SPLITS)} to non-negative shares summing to 1"
        if not isinstance(self.ratios, Mapping) or set(self.ratios) != set(SPLITS):
            raise _fail(s, "ratios", expected, self.ratios)
        shares = {split: _number(s, f"ratios.{split}", self.ratios[split], low=0.0, high=1.0) for split in SPLITS}
        if abs(sum(shares.values()) - 1) > 1e-9:
            raise _fail(s, "ratios", expected, dict(self.ratios))
        _set(self, "ratios", shares)
        _set(
            self, "leak_threshold", _number(s, "leak_threshold", self.leak_threshold, low=0.0, high=1.0, low_open=True)
        )

    def ratio_dict(self) -> dict[str, float]:
        """A copy of the shares (the config object is shared by every reader of the run)."""
        return dict(self.ratios)


@dataclasses.dataclass(frozen=True)
class DecontaminationConfig(_Section):
    """`decontamination:`: the word-run length that makes a train prompt contaminated, the shortest text
    compared whole against a benchmark item, and the two rules that tell a template shared by many rows from a
    leaked held-out prompt (they apply to the held-out check only; the benchmark check stays strict)."""

    SECTION: ClassVar[str] = "decontamination"
    ngram: int = 13
    min_words: int = 8
    max_ngram_docs: int = 10
    max_ngram_doc_share: float = 0.001
    min_coverage: float = 0.0

    def __post_init__(self) -> None:
        s = self.SECTION
        _integer(s, "ngram", self.ngram, low=1)
        _integer(s, "min_words", self.min_words, low=1)
        _integer(s, "max_ngram_docs", self.max_ngram_docs, low=0)
        _set(
            self,
            "max_ngram_doc_share",
            _number(s, "max_ngram_doc_share", self.max_ngram_doc_share, low=0.0, high=1.0),
        )
        _set(self, "min_coverage", _number(s, "min_coverage", self.min_coverage, low=0.0, high=1.0))

    def max_documents(self, documents: int) -> int | None:
        """The most documents (train + held-out rows) an n-gram may be in before it counts as a template:
        the larger of `max_ngram_docs` and `max_ngram_doc_share` of `documents`; None when the rule is off
        (`max_ngram_docs: 0`)."""
        if self.max_ngram_docs == 0:
            return None
        return max(self.max_ngram_docs, math.ceil(self.max_ngram_doc_share * documents))


@dataclasses.dataclass(frozen=True)
class ReviewConfig(_Section):
    """`review:`: what is held for people, how much is sampled, and the audit error rate that fails a version."""

    SECTION: ClassVar[str] = "review"
    contradictions: str = "hold"
    synthetic_sample_size: int = 5
    synthetic_sample: str = "keep"
    audit_sample_size: int = 50
    max_audit_error_rate: float = 0.05
    seed: str = "ftdata-review-v1"

    def __post_init__(self) -> None:
        s = self.SECTION
        _choice(s, "contradictions", self.contradictions, HOLD_POLICIES)
        _choice(s, "synthetic_sample", self.synthetic_sample, HOLD_POLICIES)
        _integer(s, "synthetic_sample_size", self.synthetic_sample_size, low=0)
        _integer(s, "audit_sample_size", self.audit_sample_size, low=0)
        _set(
            self,
            "max_audit_error_rate",
            _number(s, "max_audit_error_rate", self.max_audit_error_rate, low=0.0, high=1.0),
        )
        _set(self, "seed", _text(s, "seed", self.seed, numbers=True))

    @property
    def held_kinds(self) -> tuple[str, ...]:
        """The review_queue kinds whose undecided rows stay out of the splits."""
        policies = (("contradiction", self.contradictions), ("synthetic_sample", self.synthetic_sample))
        return tuple(kind for kind, policy in policies if policy == "hold")


SECTIONS: dict[str, type[_Section]] = {
    cls.SECTION: cls for cls in (IngestConfig, DedupConfig, SplitConfig, DecontaminationConfig, ReviewConfig)
}
"""The typed sections of params.yaml by name."""
