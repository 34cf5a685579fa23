"""Deterministic, ULID-like event ids derived from an event's position in the account's event table.

amoCRM event ids are 26-character lowercase Crockford base32 strings (a ULID: 48 bits of
milliseconds, 80 bits of randomness). Storing millions of strings would dominate memory, so the id
is computed from the event index instead: the random part holds the index scrambled by an
invertible affine map (so ``decode`` finds the event again) plus a keyed hash (so a forged or
foreign id is rejected). The same seed and index always give the same id.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_ALPHABET_BYTES = np.frombuffer(ALPHABET.encode(), dtype=np.uint8)
_DECODE = {ch: i for i, ch in enumerate(ALPHABET)}
_MASK40 = (1 << 40) - 1
_MASK64 = (1 << 64) - 1
_MULT = 0x9E3779B97F & _MASK40 | 1  # odd, hence invertible modulo 2**40
_MULT_INV = pow(_MULT, -1, 1 << 40)


def splitmix64(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """A fast, well-mixed 64-bit hash; numpy integer arrays wrap silently, which is what we want."""
    z = x + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _splitmix_int(x: int) -> int:
    return int(splitmix64(np.array([x & _MASK64], dtype=np.uint64))[0])


class EventIdCodec:
    """Maps event indices to id strings and back, keyed by the account seed."""

    def __init__(self, seed: int) -> None:
        self._key_shift = _splitmix_int(seed * 2 + 1) & _MASK40
        self._key_hash = _splitmix_int(seed * 2 + 2)

    def _hash_part(self, index: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
        return splitmix64(index ^ np.uint64(self._key_hash)) >> np.uint64(24)

    def millis(
        self, index: npt.NDArray[np.int64], created_at: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.uint64]:
        """The id's time part: the event second plus a stable sub-second offset."""
        ms = (self._hash_part(index.astype(np.uint64)) % np.uint64(1000)).astype(np.int64)
        return (created_at * 1000 + ms).astype(np.uint64)

    def encode(self, index: npt.NDArray[np.int64], created_at: npt.NDArray[np.int64]) -> npt.NDArray[np.str_]:
        """Ids for many events at once, as a numpy array of 26-character strings."""
        idx = index.astype(np.uint64)
        mask = np.uint64(_MASK40)
        scrambled = (idx * np.uint64(_MULT) + np.uint64(self._key_shift)) & mask
        parts = [
            (self.millis(index, created_at), 10),
            (scrambled, 8),
            (self._hash_part(idx) & mask, 8),
        ]
        out = np.empty((idx.size, 26), dtype=np.uint8)
        col = 0
        for value, width in parts:
            for k in range(width):
                shift = np.uint64(5 * (width - 1 - k))
                out[:, col] = _ALPHABET_BYTES[((value >> shift) & np.uint64(31)).astype(np.intp)]
                col += 1
        return out.view("S26").ravel().astype(np.str_)

    def encode_one(self, index: int, created_at: int) -> str:
        return str(self.encode(np.array([index], dtype=np.int64), np.array([created_at], dtype=np.int64))[0])

    def decode(self, event_id: str) -> int | None:
        """The index an id was made from, or None when the string is not one of ours."""
        if len(event_id) != 26 or any(ch not in _DECODE for ch in event_id):
            return None
        scrambled = _from_base32(event_id[10:18])
        index = ((scrambled - self._key_shift) * _MULT_INV) & _MASK40
        expected = self.encode_one(index, 0)
        return index if expected[10:] == event_id[10:] else None


def _from_base32(text: str) -> int:
    value = 0
    for ch in text:
        value = value * 32 + _DECODE[ch]
    return value
