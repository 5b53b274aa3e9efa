"""Labelled PII evaluation sets for `bench/pii.py`: a tuning part and a held-out part built from sources
other than the detector's rules (see README.md in this folder for the split and every source)."""

from bench.pii_eval.core import Sample, Span
from bench.pii_eval.parts import PARTS, build

__all__ = ["PARTS", "Sample", "Span", "build"]
