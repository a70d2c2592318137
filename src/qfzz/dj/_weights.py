"""The DJ's scoring weights (QFZZ design), in one place for the index and the scorer."""

from __future__ import annotations

W_GENRE, W_ARTIST, W_ENERGY, W_TEMPO, W_MOOD = 0.30, 0.25, 0.20, 0.15, 0.10
#: Tempo difference (BPM) at which the tempo match reaches zero.
TEMPO_TOLERANCE_BPM = 60.0
TEMPO_SCALE = W_TEMPO / TEMPO_TOLERANCE_BPM
