"""The table of Bot API methods the stand-in answers, looked up case-insensitively as Telegram does."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from standin.params import Params
from standin.world import World


@dataclass(frozen=True)
class Call:
    """One Bot API call: the method's canonical name, its parameters and the world it acts on."""

    method: str
    params: Params
    world: World


Handler = Callable[[Call], Awaitable[Any]]


class MethodTable:
    """Maps method names (any letter case) to their canonical spelling and handler."""

    def __init__(self, *tables: Mapping[str, Handler]) -> None:
        self._handlers: dict[str, tuple[str, Handler]] = {}
        for table in tables:
            for name, handler in table.items():
                self._handlers[name.lower()] = (name, handler)

    def lookup(self, name: str) -> tuple[str, Handler] | None:
        """The canonical name and handler for ``name``, or None if the stand-in does not know it."""
        return self._handlers.get(name.lower())

    @property
    def names(self) -> list[str]:
        """Every method answered, in canonical spelling, sorted."""
        return sorted(canonical for canonical, _ in self._handlers.values())
