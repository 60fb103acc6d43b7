"""One error type for everything wrong in a flow file, always pointing at ``file:line``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class FlowError:
    """Something wrong in a flow file: where (file, line, flow id, step id) and what to do about it."""

    file: str
    line: int
    flow: str
    step: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.flow}.{self.step}" if self.step else self.flow
        return f"{self.file}:{self.line}: {where}: {self.message}"


class FlowLoadError(Exception):
    """Raised when flows cannot be used; holds every error found, sorted by file and line."""

    def __init__(self, errors: list[FlowError]) -> None:
        self.errors = sorted(errors)
        super().__init__("\n".join(str(error) for error in self.errors))
