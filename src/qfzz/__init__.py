"""QFZZ: a self-hosted, personalized radio and music-streaming server."""

__version__ = "0.1.0"
