"""The layers of ``bot/``, read from its import graph (every import, at module level or inside a function).

The rules (DESIGN.md, "The shape of the middle"; ARCHITECTURE.md):

1. ``telegram`` is imported only in ``bot/tg/``.
2. ``aiosqlite`` and ``sqlite3`` are imported only in ``bot/storage/``; no SQL statement is written outside it.
3. The pure core imports no I/O: neither directly nor through the ``bot`` modules it imports.
4. ``standin`` (the Bot API stand-in for tests) is imported nowhere in ``bot/`` except lazily, inside a function
   of ``bot/cli.py`` (``springboard standin``); and ``standin`` itself imports nothing from ``bot``.

Known debts are listed below, each with the issue item that removes it; a debt that is paid (the import is
gone) must be struck from the list, so the list only ever shrinks.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CORE = frozenset(
    {
        "bot.engine",
        "bot.render",
        "bot.checkins",
        "bot.summaries",
        "bot.timezones",
        "bot.days",
        "bot.matching",
        "bot.similarity",
        "bot.cues",
        "bot.safety.screen",
        "bot.safety.normal",
        "bot.safety.detector",
        "bot.safety.encoder",
        "bot.safety.blend",
        "bot.safety.multilingual",
        "bot.safety.logistic",
    }
)
"""The pure core: functions of their arguments (``now`` and settings passed in), no network, database or process."""

IO_MODULES = (
    "aiosqlite",
    "sqlite3",
    "telegram",
    "aiohttp",
    "httpx",
    "httpcore",
    "requests",
    "socket",
    "ssl",
    "subprocess",
    "multiprocessing",
    "asyncio.subprocess",
    "asyncio.streams",
    "urllib.request",
    "http.client",
    "http.server",
    "bot.storage",
    "bot.tg",
    "standin",
)
"""What the pure core may not import (a module or anything inside it)."""

IO_ASYNCIO_NAMES = frozenset(
    {
        "create_subprocess_exec",
        "create_subprocess_shell",
        "open_connection",
        "start_server",
        "open_unix_connection",
        "start_unix_server",
    }
)
"""``asyncio`` functions that start processes or open sockets: I/O even when only ``asyncio`` is imported."""

SQL = re.compile(
    r"\b(SELECT\b[\s\S]+\bFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+(TABLE|INDEX)"
    r"|PRAGMA\s+\w|BEGIN\s+IMMEDIATE)\b"
)
"""SQL statements, written in capitals as the storage layer writes them."""

# Issue 15, item 1 ("a storage seam": storage error types so adapters never see sqlite3, record types in a
# module of their own) removes each of these. Strike an entry when its import is gone; the test says when.
KNOWN_DEBTS: frozenset[tuple[str, str]] = frozenset(
    {
        # The summaries (pure) take their record types from the repository module, and so import aiosqlite.
        ("bot/summaries.py", "bot.storage"),
    }
)
"""(file, module) pairs allowed for now, although they break a rule."""


@dataclass(frozen=True)
class Import:
    """One import in one file: the module named (and, for ``from m import n``, ``m.n`` as well)."""

    file: str
    line: int
    names: tuple[str, ...]
    lazy: bool
    """True when the import runs inside a function (only when the function is called)."""


@dataclass(frozen=True)
class Problem:
    """A broken rule at ``file:line``."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


def module_name(file: str) -> str:
    """``bot/tg/intake.py`` → ``bot.tg.intake``; ``bot/safety/__init__.py`` → ``bot.safety``."""
    parts = file.removesuffix(".py").split("/")
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(file: str, source: str) -> Iterator[Import]:
    """Every import in ``source``: statements anywhere (module level, functions, ``if TYPE_CHECKING``), and
    ``importlib.import_module("…")`` / ``__import__("…")`` with a literal name."""
    package = module_name(file) if file.endswith("__init__.py") else module_name(file).rpartition(".")[0]

    def visit(node: ast.AST, lazy: bool) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            inner = lazy or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield Import(file, child.lineno, (alias.name,), inner)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - (child.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                yield Import(file, child.lineno, (base, *(f"{base}.{alias.name}" for alias in child.names)), inner)
            elif isinstance(child, ast.Call) and _dynamic_import(child) is not None:
                yield Import(file, child.lineno, (_dynamic_import(child) or "",), inner)
            yield from visit(child, inner)

    yield from visit(ast.parse(source, filename=file), False)


def _dynamic_import(call: ast.Call) -> str | None:
    function = call.func
    named = (isinstance(function, ast.Name) and function.id == "__import__") or (
        isinstance(function, ast.Attribute) and function.attr == "import_module"
    )
    if named and call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
        return call.args[0].value
    return None


def _within(name: str, prefixes: tuple[str, ...] | frozenset[str]) -> str | None:
    """The prefix ``name`` is (or is inside of), if any: ``telegram.ext`` is within ``telegram``."""
    return next((prefix for prefix in prefixes if name == prefix or name.startswith(prefix + ".")), None)


def _asyncio_io(file: str, source: str) -> Iterator[Problem]:
    """Uses of ``asyncio.create_subprocess_exec`` and the like (and ``from asyncio import open_connection``)."""
    for node in ast.walk(ast.parse(source, filename=file)):
        called = isinstance(node, ast.Attribute) and node.attr in IO_ASYNCIO_NAMES
        if called and isinstance(node.value, ast.Name) and node.value.id == "asyncio":
            yield Problem(file, node.lineno, f"the pure core calls asyncio.{node.attr} (a process or a socket)")
        if isinstance(node, ast.ImportFrom) and node.module == "asyncio":
            for alias in node.names:
                if alias.name in IO_ASYNCIO_NAMES:
                    yield Problem(file, node.lineno, f"the pure core imports asyncio.{alias.name} (I/O)")


def _sql(file: str, source: str) -> Iterator[Problem]:
    """String constants that are SQL statements (docstrings included: they would be copied into code)."""
    for node in ast.walk(ast.parse(source, filename=file)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value):
            yield Problem(file, node.lineno, "SQL outside bot/storage/: move the query into the repository")


def check_layers(sources: Mapping[str, str], debts: frozenset[tuple[str, str]] = KNOWN_DEBTS) -> list[Problem]:
    """Every broken layer rule in ``sources`` (repository-relative path → Python source), each at file:line,
    and every known debt that no longer occurs (it must be struck from the list)."""
    problems: list[Problem] = []
    used_debts: set[tuple[str, str]] = set()
    found: dict[str, list[Import]] = {file: list(imports_of(file, source)) for file, source in sources.items()}
    modules = {module_name(file): file for file in sources}

    def report(debt: tuple[str, str], problem: Problem) -> None:
        if debt in debts:
            used_debts.add(debt)
        else:
            problems.append(problem)

    for file, imports in found.items():
        in_bot = file.startswith("bot/")
        for item in imports:

            def first(prefix: str, item: Import = item) -> str | None:
                return next((name for name in item.names if _within(name, (prefix,))), None)

            if in_bot and not file.startswith("bot/tg/") and (name := first("telegram")):
                message = f"imports {name}: telegram belongs in bot/tg/ only (the Telegram adapter)"
                report((file, "telegram"), Problem(file, item.line, message))
            for driver in ("aiosqlite", "sqlite3"):
                if in_bot and not file.startswith("bot/storage/") and (name := first(driver)):
                    message = f"imports {name}: {driver} belongs in bot/storage/ only (adapters see storage errors)"
                    report((file, driver), Problem(file, item.line, message))
            if in_bot and not (file == "bot/cli.py" and item.lazy) and (name := first("standin")):
                message = (
                    f"imports {name}: the bot never imports the stand-in (a test tool); only `springboard standin` "
                    "in bot/cli.py may, inside its function"
                )
                problems.append(Problem(file, item.line, message))
            if file.startswith("standin/") and (name := first("bot")):
                message = f"imports {name}: the stand-in plays Telegram and knows nothing of the bot"
                problems.append(Problem(file, item.line, message))
        if in_bot and not file.startswith("bot/storage/"):
            problems.extend(_sql(file, sources[file]))

    # The pure core: no I/O imported directly, nor through any bot module it imports (followed to the end).
    for core in sorted(CORE & modules.keys()):
        file = modules[core]
        problems.extend(_asyncio_io(file, sources[file]))
        chains: dict[str, list[Import]] = {core: []}
        queue = [core]
        while queue:
            current = queue.pop(0)
            for item in found[modules[current]]:
                reported = False
                for name in item.names:
                    forbidden = _within(name, IO_MODULES)
                    if forbidden is not None and not reported:
                        reported = True
                        path = [*chains[current], item]
                        first = path[0]
                        through = " → ".join([core, *(module_name(step.file) for step in path[1:]), name])
                        how = f"imports {name}" if len(path) == 1 else f"reaches {name} through {through}"
                        message = f"{how}: the pure core ({core}) does no I/O"
                        report((file, forbidden), Problem(first.file, first.line, message))
                    target = name if name in modules and forbidden is None else None
                    if target is not None and target not in chains:
                        chains[target] = [*chains[current], item]
                        queue.append(target)

    for file, module in sorted(debts - used_debts):
        if file in sources:
            problems.append(Problem(file, 1, f"the known debt ({file}, {module}) is paid: strike it from KNOWN_DEBTS"))
    return problems


def _sources(*folders: str) -> dict[str, str]:
    return {
        path.relative_to(ROOT).as_posix(): path.read_text(encoding="utf-8")
        for folder in folders
        for path in sorted((ROOT / folder).rglob("*.py"))
    }


def test_bot_keeps_its_layers() -> None:
    problems = check_layers(_sources("bot", "standin"))
    assert not problems, "layer rules broken (see tests/test_layers.py):\n" + "\n".join(map(str, problems))


def test_the_core_and_the_adapters_are_where_the_rules_expect_them() -> None:
    # A renamed module would make a rule check nothing: every core module and both adapters must exist.
    files = _sources("bot")
    modules = {module_name(file) for file in files}
    assert modules >= CORE, f"core modules missing: {sorted(CORE - modules)}"
    assert any(file.startswith("bot/tg/") for file in files) and any(file.startswith("bot/storage/") for file in files)


# --- the checker checks: fake modules with forbidden imports are reported -------------------------------------


def _messages(sources: dict[str, str], debts: frozenset[tuple[str, str]] = frozenset()) -> list[str]:
    return [str(problem) for problem in check_layers(sources, debts)]


def test_telegram_outside_the_adapter_is_reported_with_its_line() -> None:
    found = _messages({"bot/chat.py": "import os\n\n\ndef f():\n    from telegram import Update\n"})
    assert len(found) == 1 and found[0].startswith("bot/chat.py:5: imports telegram")
    assert _messages({"bot/tg/handlers.py": "from telegram.ext import Application\n"}) == []


def test_database_drivers_and_sql_outside_storage_are_reported() -> None:
    found = _messages(
        {
            "bot/tg/intake.py": "import sqlite3\n",
            "bot/conversation.py": 'import aiosqlite\nQUERY = "SELECT id FROM users WHERE x = ?"\n',
            "bot/storage/repository.py": 'import aiosqlite\nQ = "DELETE FROM runs"\n',
        }
    )
    assert sorted(line.split(": ")[0] for line in found) == [
        "bot/conversation.py:1",
        "bot/conversation.py:2",
        "bot/tg/intake.py:1",
    ]
    # Words that merely start with a capital are not SQL.
    assert _messages({"bot/flows/texts.py": 'X = "Select one. Delete from your list, then Update it."\n'}) == []


def test_the_core_may_not_reach_io_even_through_another_module() -> None:
    sources = {
        "bot/engine.py": "from bot import helper\n",
        "bot/helper.py": "def load():\n    import aiosqlite\n",
        "bot/render.py": "import asyncio\n\nasync def f():\n    await asyncio.create_subprocess_exec('ls')\n",
        "bot/cues.py": "import importlib\nimportlib.import_module('httpx')\n",
    }
    found = _messages(sources)
    assert any(line.startswith("bot/engine.py:1: reaches aiosqlite through bot.engine → bot.helper") for line in found)
    assert any(line.startswith("bot/render.py:4: the pure core calls asyncio.create_subprocess_exec") for line in found)
    assert any(line.startswith("bot/cues.py:2: imports httpx") for line in found)
    assert _messages({"bot/engine.py": "import re\nfrom bot.flows.model import Flow\n"}) == []


def test_the_standin_is_imported_only_lazily_by_the_cli_and_imports_no_bot() -> None:
    lazy = "def main():\n    from standin.cli import serve_forever\n"
    assert _messages({"bot/cli.py": lazy}) == []
    assert _messages({"bot/cli.py": "from standin.cli import serve_forever\n"})[0].startswith("bot/cli.py:1: ")
    assert _messages({"bot/chat.py": lazy})[0].startswith("bot/chat.py:2: imports standin.cli")
    assert _messages({"standin/world.py": "from bot.engine import Say\n"})[0].startswith("standin/world.py:1: ")


def test_known_debts_are_allowed_and_paid_debts_must_be_struck() -> None:
    debt = frozenset({("bot/tg/intake.py", "sqlite3")})
    assert _messages({"bot/tg/intake.py": "import sqlite3\n"}, debt) == []
    assert _messages({"bot/tg/intake.py": "import json\n"}, debt) == [
        "bot/tg/intake.py:1: the known debt (bot/tg/intake.py, sqlite3) is paid: strike it from KNOWN_DEBTS"
    ]
