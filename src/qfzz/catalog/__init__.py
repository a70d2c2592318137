"""The catalog: library scanning, tag reading, dataset files, licenses and quality."""

from qfzz.catalog.dataset_file import read_dataset_file, records_to_meta
from qfzz.catalog.importer import DatasetImporter, content_id_of_record
from qfzz.catalog.licenses import LicenseTerms, parse_license
from qfzz.catalog.quality import evaluate_dataset, score_dataset
from qfzz.catalog.scanner import LibraryScanner, ScanReport, content_id_of_file

__all__ = [
    "DatasetImporter",
    "LibraryScanner",
    "LicenseTerms",
    "ScanReport",
    "content_id_of_file",
    "content_id_of_record",
    "evaluate_dataset",
    "parse_license",
    "read_dataset_file",
    "records_to_meta",
    "score_dataset",
]
