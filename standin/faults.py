"""Fault injection and flood control: the ways Telegram misbehaves, on demand.

A :class:`FaultPlan` holds, per method, a queue of one-shot faults and optional standing chances
of a fault. A fault answers an error (429 with ``retry_after``, 500, 502, or any status), delays
the request, or drops the connection without an answer. Faults queued for ``"*"`` hit any method
except getUpdates (whose long polls would otherwise swallow them); name getUpdates to hit it.

A :class:`RateLimiter` answers 429 like Telegram's flood control when a bot sends more than
``overall`` messages in a window (30/s) or more than ``per_chat`` to one chat (1/s).
"""

from __future__ import annotations

import math
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from standin.errors import ApiError, bad_gateway, internal_server_error, too_many_requests

JsonDict = dict[str, Any]
FaultKind = Literal["error", "delay", "drop"]
ANY_METHOD = "*"

# Methods that post a new message into a chat: the ones flood control counts.
SENDING_METHODS = frozenset(
    {
        "sendMessage",
        "sendDocument",
        "sendPhoto",
        "sendSticker",
        "sendLocation",
        "sendAudio",
        "sendVideo",
        "sendVoice",
        "sendAnimation",
        "sendMediaGroup",
        "copyMessage",
        "forwardMessage",
    }
)


@dataclass(frozen=True)
class Fault:
    """One injected misbehaviour. Build it with the class methods."""

    kind: FaultKind
    status: int = 0
    description: str = ""
    retry_after: int | None = None
    seconds: float = 0.0

    @classmethod
    def too_many_requests(cls, retry_after: int = 1) -> Fault:
        """Answer 429 "Too Many Requests: retry after N" with ``parameters.retry_after``."""
        error = too_many_requests(retry_after)
        return cls("error", error.status, error.description, retry_after=max(1, retry_after))

    @classmethod
    def server_error(cls) -> Fault:
        """Answer 500 Internal Server Error."""
        error = internal_server_error()
        return cls("error", error.status, error.description)

    @classmethod
    def bad_gateway(cls) -> Fault:
        """Answer 502 Bad Gateway."""
        error = bad_gateway()
        return cls("error", error.status, error.description)

    @classmethod
    def error(cls, status: int, description: str) -> Fault:
        """Answer any status with any description."""
        return cls("error", status, description)

    @classmethod
    def delay(cls, seconds: float) -> Fault:
        """Wait ``seconds`` before handling the request normally."""
        return cls("delay", seconds=seconds)

    @classmethod
    def drop_connection(cls) -> Fault:
        """Close the connection without answering."""
        return cls("drop")

    def api_error(self) -> ApiError:
        """The error this fault answers with (only for kind "error")."""
        parameters = {"retry_after": self.retry_after} if self.retry_after else None
        return ApiError(self.status, self.description, parameters=parameters)

    def to_json(self) -> JsonDict:
        """A JSON view for the control API."""
        return {
            "kind": self.kind,
            "status": self.status,
            "description": self.description,
            "retry_after": self.retry_after,
            "seconds": self.seconds,
        }

    @classmethod
    def from_json(cls, spec: JsonDict) -> Fault:
        """Build a fault from the control API's JSON: ``{"kind": "429"|"500"|"502"|"delay"|"drop"|
        "error", "retry_after": N, "seconds": S, "status": N, "description": "..."}``."""
        kind = str(spec.get("kind", ""))
        if kind in ("429", "too_many_requests"):
            return cls.too_many_requests(int(spec.get("retry_after", 1)))
        if kind in ("500", "server_error"):
            return cls.server_error()
        if kind in ("502", "bad_gateway"):
            return cls.bad_gateway()
        if kind == "delay":
            return cls.delay(float(spec.get("seconds", 1.0)))
        if kind == "drop":
            return cls.drop_connection()
        if kind == "error":
            return cls.error(int(spec["status"]), str(spec["description"]))
        raise ValueError(f"unknown fault kind {kind!r}: use 429, 500, 502, delay, drop or error")


@dataclass
class _Chance:
    fault: Fault
    probability: float


class FaultPlan:
    """Per-method fault queues and chances. ``take(method)`` decides the fault for one request."""

    def __init__(self, seed: int | None = 0) -> None:
        self._queues: dict[str, deque[Fault]] = {}
        self._chances: dict[str, list[_Chance]] = {}
        self._random = random.Random(seed)  # noqa: S311 - test-only fault dice, not security

    def queue(self, method: str, *faults: Fault, times: int = 1) -> None:
        """Make the next requests to ``method`` ("*" for any but getUpdates) meet these faults in order.

        ``times`` repeats the whole sequence.
        """
        self._queues.setdefault(method, deque()).extend(list(faults) * times)

    def set_chance(self, method: str, fault: Fault, probability: float) -> None:
        """Give every request to ``method`` ("*" for any but getUpdates) this chance of ``fault``."""
        if not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        self._chances.setdefault(method, []).append(_Chance(fault, probability))

    def clear(self) -> None:
        """Remove every queued fault and chance."""
        self._queues.clear()
        self._chances.clear()

    def take(self, method: str) -> Fault | None:
        """The fault for one request to ``method``, consuming it if it was queued; None for none."""
        names = [method] if method == "getUpdates" else [method, ANY_METHOD]
        for name in names:
            queue = self._queues.get(name)
            if queue:
                return queue.popleft()
        for name in names:
            for chance in self._chances.get(name, []):
                if self._random.random() < chance.probability:
                    return chance.fault
        return None

    def to_json(self) -> JsonDict:
        """What is still planned, for the control API."""
        return {
            "queued": {name: [fault.to_json() for fault in queue] for name, queue in self._queues.items() if queue},
            "chances": {
                name: [{"probability": c.probability, **c.fault.to_json()} for c in chances]
                for name, chances in self._chances.items()
            },
        }


@dataclass(frozen=True)
class RateLimits:
    """Telegram's published flood limits: messages per window overall and per chat."""

    overall: int = 30
    per_chat: int = 1
    window: float = 1.0


@dataclass
class RateLimiter:
    """Sliding-window flood control; :meth:`check` returns a retry_after when a send is over the limit."""

    limits: RateLimits = field(default_factory=RateLimits)
    clock: Callable[[], float] = time.monotonic
    _overall: deque[float] = field(default_factory=deque)
    _per_chat: dict[int, deque[float]] = field(default_factory=dict)

    def check(self, chat_id: int | None) -> int | None:
        """Count one message to ``chat_id``; or, if that breaks a limit, count nothing and return
        the whole seconds to wait."""
        now = self.clock()
        horizon = now - self.limits.window
        chat_sends = self._per_chat.setdefault(chat_id if chat_id is not None else 0, deque())
        for sends in (self._overall, chat_sends):
            while sends and sends[0] <= horizon:
                sends.popleft()
        waits = []
        if len(self._overall) >= self.limits.overall:
            waits.append(self._overall[0] - horizon)
        if chat_id is not None and len(chat_sends) >= self.limits.per_chat:
            waits.append(chat_sends[0] - horizon)
        if waits:
            return max(1, math.ceil(max(waits)))
        self._overall.append(now)
        chat_sends.append(now)
        return None
