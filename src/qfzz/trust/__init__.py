"""Content trust. For now only the filter's shape (``qfzz.dj.TrustFilter``); the trust
ledger fills it, and the station applies it when ``enable_blockchain`` is on."""

__all__: list[str] = []
