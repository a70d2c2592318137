"""Accept-Encoding negotiation: gzip only where the client lets it through."""

from __future__ import annotations

import pytest

from qfzz.api._encoding import MAX_HEADER, accepts_gzip


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, False),
        ("", False),
        ("identity", False),
        ("br, deflate", False),
        ("gzip", True),
        ("GZip, deflate", True),
        ("br;q=1.0, gzip;q=0.8", True),
        ("gzip;q=0", False),
        ("gzip; q=0.0, identity", False),
        ("*", True),
        ("*;q=0", False),
        ("x-gzip", True),
        ("gzip;q=bogus", False),
        ("gzipx", False),
        (" " * MAX_HEADER + "gzip", False),  # past the bound: not read
    ],
)
def test_accepts_gzip(header, expected):
    assert accepts_gzip(header) is expected
