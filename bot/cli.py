"""``springboard`` commands: chat, check, migrate, run, screen-eval, set-webhook, standin."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from bot.config import Settings
from bot.flows.catalog import Catalog, load_catalog
from bot.flows.errors import FlowLoadError
from bot.flows.loader import display_path, load_flows

# How long screen-eval waits for the crisis screen's encoder to load (well under a second when it is idle).
ENCODER_WAIT_SECONDS = 60.0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="springboard", description="A bot for learning from setbacks.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chat = commands.add_parser("chat", help="talk to the bot in this terminal (no Telegram needed)")
    chat.add_argument(
        "--db", type=Path, help="SQLite file (default: DATABASE_URL, else DATABASE_PATH or data/springboard.sqlite3)"
    )
    chat.add_argument("--user", help="whose conversation this is (default: your login name)")
    chat.add_argument("--flows", type=Path, help="conversations folder (default: FLOWS_DIR or conversations/)")
    check = commands.add_parser("check", help="check flow files and report every problem as file:line")
    check.add_argument("path", nargs="?", type=Path, help="a conversations folder or one flow file")
    run = commands.add_parser("run", help="run the Telegram bot (needs TELEGRAM_BOT_TOKEN)")
    run.add_argument(
        "--or-chat",
        action="store_true",
        help="without a token, start the terminal chat instead of stopping with an error",
    )
    screen = commands.add_parser(
        "screen-eval",
        help="measure the crisis screen on a labelled file of {text, label, category} (JSON lines, JSON, YAML or CSV)",
    )
    screen.add_argument("file", type=Path)
    screen.add_argument(
        "--disguise",
        action="store_true",
        help="screen every message dressed up as someone hiding words from a filter would (letters from another "
        "script, a styled alphabet, letters held down, words broken up), chosen by a hash of its text",
    )
    screen.add_argument("--flows", type=Path, help="conversations folder (default: FLOWS_DIR or conversations/)")
    commands.add_parser(
        "migrate",
        help="bring the database schema up to date (SQLite, or PostgreSQL with DATABASE_URL); print what was applied",
    )
    commands.add_parser(
        "set-webhook",
        help="ask Telegram to deliver updates to WEBHOOK_URL with WEBHOOK_SECRET (a deploy step, before `run`)",
    )
    standin = commands.add_parser("standin", help="run a local Telegram Bot API stand-in for trying the bot offline")
    standin.add_argument("--host", default="127.0.0.1")
    standin.add_argument("--port", type=int, default=8081)
    return parser


def _settings() -> Settings | None:
    try:
        return Settings()
    except ValidationError as invalid:
        for error in invalid.errors():
            name = str(error["loc"][0]).upper() if error["loc"] else "settings"
            print(f"springboard: setting {name}: {error['msg']}", file=sys.stderr)
        return None


def _catalog(path: Path) -> Catalog | None:
    try:
        return load_catalog(path)
    except FlowLoadError as problem:
        print(f"springboard: the flows in {display_path(path)} have problems; fix these first:", file=sys.stderr)
        for error in problem.errors:
            print(error, file=sys.stderr)
        return None


def check(path: Path) -> int:
    """Print every problem in the flows at ``path`` (exit 1), or a one-line summary (exit 0)."""
    try:
        if path.is_dir():
            catalog = load_catalog(path)
            names = ", ".join(sorted(catalog.flows))
            print(f"{display_path(path)}: {len(catalog.flows)} flows OK ({names}); texts OK")
        else:
            flows = load_flows(path)
            print(f"{display_path(path)}: flow OK ({', '.join(flows)})")
    except FlowLoadError as problem:
        for error in problem.errors:
            print(error)
        count = len(problem.errors)
        print(f"{count} problem{'s' if count != 1 else ''} found", file=sys.stderr)
        return 1
    return 0


def screen_eval(file: Path, flows: Path, disguise: bool = False) -> int:
    """Print the screen's recall per category and its false alarms on ``file`` (each message disguised, with
    ``disguise``); exit 1 if unreadable."""
    from bot.safety import load_safety
    from bot.safety.disguise import KINDS, disguised
    from bot.safety.evaluation import evaluate, read_labelled

    try:
        messages = read_labelled(file)
        safety = load_safety(flows)
    except (OSError, ValueError) as problem:
        print(f"springboard: {problem}", file=sys.stderr)
        return 1
    except FlowLoadError as problem:
        for error in problem.errors:
            print(error, file=sys.stderr)
        return 1
    if not safety.wait_ready(ENCODER_WAIT_SECONDS):
        print(
            "springboard: not every learned reader of the screen could be loaded (see bot/safety/model/); "
            "measuring the screen as it runs without them",
            file=sys.stderr,
        )
    # The first message a process screens pays for setting up what is read lazily (a few hundred ms): not
    # the screen's time per message, so it is paid here, untimed.
    safety.assess("warming up every reader of the screen before the timed run")
    if disguise:
        messages = [disguised(message) for message in messages]
        print(f"Every message disguised, by a hash of its text, in one of: {', '.join(KINDS)}.\n")
    print(evaluate(messages, safety.assess).report())
    return 0


async def migrate(settings: Settings) -> int:
    """Apply the migrations the database lacks and print what was applied (exit 1 if it cannot be done)."""
    from datetime import UTC, datetime

    from bot.storage.errors import StorageError
    from bot.storage.opening import migrate_storage

    try:
        report = await migrate_storage(settings, datetime.now(UTC))
    except (StorageError, OSError) as trouble:
        print(f"springboard: cannot migrate the database: {trouble}", file=sys.stderr)
        return 1
    if report.applied:
        numbers = ", ".join(str(number) for number in report.applied)
        print(f"{report.where}: applied migration{'s' if len(report.applied) != 1 else ''} {numbers}")
    else:
        print(f"{report.where}: already up to date, nothing applied")
    print(f"{report.where}: the schema is at version {report.version}")
    return 0


async def set_webhook(settings: Settings) -> int:
    """Register the webhook the settings describe with Telegram (exit 2 on missing settings, 1 if refused)."""
    from bot.tg.registration import set_webhook_once

    if settings.telegram_bot_token is None:
        print("springboard: set-webhook needs TELEGRAM_BOT_TOKEN (from @BotFather)", file=sys.stderr)
        return 2
    if not settings.webhook_url:
        print("springboard: set-webhook needs WEBHOOK_URL (the public HTTPS address of the bot)", file=sys.stderr)
        return 2
    if settings.webhook_problem:
        print(f"springboard: {settings.webhook_problem}", file=sys.stderr)
        return 2
    problem = await set_webhook_once(settings, settings.telegram_bot_token.get_secret_value().strip())
    if problem:
        print(f"springboard: Telegram did not set the webhook: {problem}", file=sys.stderr)
        return 1
    print(f"webhook set: Telegram delivers updates to {settings.webhook_url}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run one springboard command; returns its exit code."""
    args = _parser().parse_args(argv)
    settings = _settings()
    if settings is None:
        return 2
    if args.command == "check":
        return check(args.path or settings.flows_dir)
    if args.command == "screen-eval":
        return screen_eval(args.file, args.flows or settings.flows_dir, args.disguise)
    if args.command == "migrate":
        return asyncio.run(migrate(settings))
    if args.command == "set-webhook":
        return asyncio.run(set_webhook(settings))
    if args.command == "standin":
        from standin.cli import serve_forever

        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve_forever(args.host, args.port, None))
        return 0
    if args.command == "run" and settings.telegram_bot_token is None and not args.or_chat:
        print(
            "springboard: TELEGRAM_BOT_TOKEN is not set. Get a token from @BotFather and put it in .env "
            "(see README), or try the bot offline with `springboard chat`.",
            file=sys.stderr,
        )
        return 2
    if args.command == "run" and settings.telegram_bot_token is not None and settings.webhook_problem:
        print(f"springboard: {settings.webhook_problem}", file=sys.stderr)
        return 2
    catalog = _catalog(getattr(args, "flows", None) or settings.flows_dir)
    if catalog is None:
        return 1
    if args.command == "run" and settings.telegram_bot_token is not None:
        from bot.logs import configure_logging
        from bot.tg.runner import run_bot

        token = settings.telegram_bot_token.get_secret_value().strip()
        configure_logging(settings.log_level, secrets=(token,))
        catalog.safety.warm_up()
        return asyncio.run(run_bot(settings, catalog, token))
    if args.command == "run":
        print("No TELEGRAM_BOT_TOKEN set, so here is the terminal chat instead.\n", file=sys.stderr)
    return _chat(catalog, settings, getattr(args, "db", None), getattr(args, "user", None))


def _chat(catalog: Catalog, settings: Settings, database: Path | None, user: str | None) -> int:
    from bot.chat import run_chat

    # The crisis screen's encoder loads while the bot starts; the patterns and the small detector screen
    # whatever arrives before it is ready.
    catalog.safety.warm_up()
    name = user or getpass.getuser() or "me"
    try:
        return asyncio.run(run_chat(catalog, settings, name, database))
    except KeyboardInterrupt:
        from bot.chat import say_plain

        print("\n" + say_plain(catalog.texts.terminal_bye))
        return 0


if __name__ == "__main__":
    sys.exit(main())
