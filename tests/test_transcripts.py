"""docs/transcripts.md shows what the terminal chat really says: each transcript is replayed from the
lines typed in it, and the bot must answer word for word as written there."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.test_chat import chat

DOC = REPO_ROOT / "docs" / "transcripts.md"


def transcripts() -> list[str]:
    return re.findall(r"```\n(› /reframe.*?|› yes\n.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)


def test_the_doc_holds_a_stuck_and_an_angry_reframe() -> None:
    found = transcripts()
    assert len(found) == 2
    assert "send your answer as it is" in found[0] and "This isn't about taking the blame" in found[1]


@pytest.mark.parametrize("number", [0, 1])
def test_each_transcript_is_what_the_chat_says(tmp_path: Path, number: int) -> None:
    written = transcripts()[number]
    typed = ["/reframe", *(line[2:] for line in written.splitlines() if line.startswith("› "))]
    said = chat(tmp_path / "chat.sqlite3", *typed)
    assert said[said.index("› yes\n") :].rstrip() == written.rstrip()
