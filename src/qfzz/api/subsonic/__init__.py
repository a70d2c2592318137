"""The Subsonic / OpenSubsonic API at ``/rest/<method>`` and ``/rest/<method>.view``.

GET and form POST; ``f=xml`` (default), ``json`` or ``jsonp`` with ``callback``. Each
handler is parse → call the station → build a wire response (``_wire``); errors become
Subsonic codes in one place (``_errors``). Ids are documented in ``_ids``.
"""

from qfzz.api.subsonic._registry import HANDLERS
from qfzz.api.subsonic._router import router

__all__ = ["HANDLERS", "router"]
