"""What the screen decided about one message."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum


class Level(IntEnum):
    """How worried to be: nothing, worth one gentle question, or the crisis reply at once."""

    NONE = 0
    POSSIBLE = 1
    CLEAR = 2


@dataclass(frozen=True)
class Assessment:
    """The screen's decision, what it is about, and the language it was written in (when not English).

    ``topics`` names what the words point to beyond suicide and self-harm (``abuse``, ``eating``), so the
    reply can add the right helplines; ``language`` is set when a pattern in another language matched.
    ``score`` is the learned readers' probability: for a message no pattern flagged, the blend's once every
    reader is loaded (the encoder's reading taken as even odds when it was not run because it could not
    change the answer), else the encoder's, else the n-gram detector's; for a pattern's full reply, the reader
    that knows the language (the encoder for English, the multilingual reader otherwise), unless that reader
    demoted it and the blend then weighed whether to withdraw the question: the blend's; None when no
    learned reader was consulted. Where the encoder stopped reading a long message once its answer was
    settled, its part of the score is the highest reading of the passages it read.
    """

    level: Level
    topics: frozenset[str] = field(default_factory=frozenset)
    language: str | None = None
    score: float | None = None

    @property
    def flagged(self) -> bool:
        """True for either tier."""
        return self.level is not Level.NONE


NOTHING = Assessment(Level.NONE)
