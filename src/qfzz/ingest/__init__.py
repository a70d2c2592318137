"""Creators' uploads on their way to listeners: resumable uploads (tus 1.0.0) into an
upload store, and conversion into what listeners hear, in killable, resource-limited child
processes. Plain Python behind small protocols (no web framework, no SQL); PyAV stays in
``qfzz.audio``, which this package calls."""

from qfzz.ingest._convert import (
    Conversion,
    ConversionFailed,
    Converted,
    Converter,
    ConvertLimits,
    Outcome,
)
from qfzz.ingest._convert_jobs import ConvertJobs, parse_convert_job
from qfzz.ingest._convert_kinds import Kind, sniff

__all__ = [
    "Conversion",
    "ConversionFailed",
    "ConvertJobs",
    "ConvertLimits",
    "Converted",
    "Converter",
    "Kind",
    "Outcome",
    "parse_convert_job",
    "sniff",
]
