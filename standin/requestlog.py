"""The log of every Bot API request the stand-in received and what it answered."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from standin.params import decoded_params, loggable

JsonDict = dict[str, Any]


@dataclass(frozen=True)
class RequestRecord:
    """One request: method (canonical spelling when known), raw parameters, and the answer.

    ``params`` holds values as received (strings from a form, native values from a JSON body,
    :class:`~standin.params.FilePart` for uploads). ``status`` is 0 and ``response`` None when
    the connection was dropped on purpose.
    """

    method: str
    params: dict[str, Any]
    status: int
    response: JsonDict | None
    at: float

    @property
    def ok(self) -> bool:
        """True if the request succeeded."""
        return self.response is not None and self.response.get("ok") is True

    @property
    def decoded(self) -> dict[str, Any]:
        """The parameters with JSON-serialised ones (reply_markup, entities, ...) decoded."""
        return decoded_params(self.params)

    @property
    def result(self) -> Any:
        """The ``result`` of a successful answer, else None."""
        return self.response.get("result") if self.response else None

    def to_json(self) -> JsonDict:
        """A JSON view for the control API (uploaded bytes summarised)."""
        return {
            "method": self.method,
            "params": loggable(self.params),
            "status": self.status,
            "response": self.response,
            "at": self.at,
        }


class RequestLog:
    """Every request in arrival order."""

    def __init__(self) -> None:
        self.records: list[RequestRecord] = []

    def add(self, record: RequestRecord) -> None:
        """Append one request."""
        self.records.append(record)

    def clear(self) -> None:
        """Forget every request."""
        self.records.clear()

    def of(self, method: str | None = None) -> list[RequestRecord]:
        """Requests to ``method`` (any letter case), or all of them when None."""
        if method is None:
            return list(self.records)
        wanted = method.lower()
        return [record for record in self.records if record.method.lower() == wanted]
