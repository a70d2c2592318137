"""Creators' uploads on their way to listeners: resumable uploads (tus 1.0.0) into an
upload store, and conversion into what listeners hear, in killable, resource-limited child
processes. Plain Python behind small protocols (no web framework, no SQL); PyAV stays in
``qfzz.audio``, which this package calls."""

__all__: list[str] = []
