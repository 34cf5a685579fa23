"""A flag on a cell of the Monday e-mail: which way it points and the one line of evidence behind it.

The flags themselves are decided when the report is built (:mod:`cohort_service.cohorts.flags`:
a same-age prediction interval with a false-discovery correction, or a target judged on the
forecast's interval); the e-mail only shows them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Direction = Literal["low", "high"]


@dataclass(frozen=True)
class Flag:
    direction: Direction
    reason: str  # the evidence line

    @property
    def colour(self) -> str:
        return "red" if self.direction == "low" else "green"
