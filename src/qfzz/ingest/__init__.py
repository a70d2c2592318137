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
from qfzz.ingest._convert_manifest import CorruptManifest, read_manifest
from qfzz.ingest._leases import LEASE_SECONDS, Leases
from qfzz.ingest._sealed import SealBroken, Sealed, SealedFile, seal_file
from qfzz.ingest._tus import (
    CHECKSUM_ALGORITHMS,
    EXTENSIONS,
    PATCH_CONTENT_TYPE,
    TUS_VERSION,
    Checksum,
    TusError,
    encode_metadata,
    parse_checksum,
    parse_count,
    parse_metadata,
    require_patch_type,
    require_version,
)
from qfzz.ingest._uploads import FinishHandler, Upload, UploadStore

__all__ = [
    "CHECKSUM_ALGORITHMS",
    "EXTENSIONS",
    "LEASE_SECONDS",
    "PATCH_CONTENT_TYPE",
    "TUS_VERSION",
    "Checksum",
    "Conversion",
    "ConversionFailed",
    "ConvertJobs",
    "ConvertLimits",
    "Converted",
    "Converter",
    "CorruptManifest",
    "FinishHandler",
    "Kind",
    "Leases",
    "Outcome",
    "SealBroken",
    "Sealed",
    "SealedFile",
    "TusError",
    "Upload",
    "UploadStore",
    "encode_metadata",
    "parse_checksum",
    "parse_convert_job",
    "parse_count",
    "parse_metadata",
    "read_manifest",
    "require_patch_type",
    "require_version",
    "seal_file",
    "sniff",
]
