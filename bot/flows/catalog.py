"""Everything in ``conversations/`` the bot needs, loaded and checked together."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.flows.contract import missing_checkin
from bot.flows.errors import FlowLoadError
from bot.flows.loader import display_path, load_flows
from bot.flows.model import Flow
from bot.flows.texts import Texts, load_texts
from bot.safety import Safety, load_safety


@dataclass(frozen=True)
class Catalog:
    """The loaded flows (by id), the bot's texts, and the crisis screen with its helplines."""

    flows: dict[str, Flow]
    texts: Texts
    safety: Safety

    def by_command(self, command: str) -> Flow | None:
        """The flow started by ``/command``, if any."""
        return next((flow for flow in self.flows.values() if flow.command == command), None)

    @property
    def commanded(self) -> list[Flow]:
        """Flows that have a command, in a stable order (setback first if present)."""
        flows = [flow for flow in self.flows.values() if flow.command]
        return sorted(flows, key=lambda flow: (flow.id != "setback", flow.id))


def load_catalog(conversations: Path) -> Catalog:
    """Load every flow and the texts under ``conversations``; FlowLoadError lists every problem found."""
    errors = []
    flows: dict[str, Flow] = {}
    texts: Texts | None = None
    try:
        flows = load_flows(conversations)
    except FlowLoadError as problem:
        errors.extend(problem.errors)
    else:
        if (missing := missing_checkin(set(flows), display_path(conversations))) is not None:
            errors.append(missing)
    try:
        texts = load_texts(conversations)
    except FlowLoadError as problem:
        errors.extend(problem.errors)
    safety: Safety | None = None
    try:
        safety = load_safety(conversations)
    except FlowLoadError as problem:
        errors.extend(problem.errors)
    if errors or texts is None or safety is None:
        raise FlowLoadError(errors)
    return Catalog(flows, texts, safety)
