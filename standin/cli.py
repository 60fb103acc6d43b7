"""Run the stand-in in the foreground: ``python -m standin --port 8081`` (or ``springboard standin``)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence
from typing import TextIO

from standin.control import ACTIONS
from standin.server import StandIn

DEFAULT_PORT = 8081


def banner(standin: StandIn, *, any_token: bool) -> str:
    """What the foreground stand-in prints at start: where it is and how to drive it."""
    token_line = "accepting any token shaped like 123456:abc" if any_token else f"accepting token {standin.token}"
    lines = [
        f"Telegram Bot API stand-in listening on {standin.url}",
        f"  bot:    @{standin.bot.username} (id {standin.bot.id}), {token_line}",
        f"  bot API base URL (PTB base_url / TELEGRAM_API_URL): {standin.bot_api_url}",
        f"  file base URL (PTB base_file_url): {standin.file_url}",
        f"  control API: {standin.url}/_control/<action> (JSON); GET {standin.url}/_control/ lists them:",
    ]
    lines += [f"    {name:22} {action.summary}" for name, action in ACTIONS.items()]
    lines.append(
        f'  e.g. curl -s -XPOST {standin.url}/_control/user_sends_text -d \'{{"user_id": 42, "text": "/start"}}\''
    )
    return "\n".join(lines)


async def serve_forever(host: str, port: int, token: str | None, *, out: TextIO | None = None) -> None:
    """Serve the stand-in on ``host:port`` until cancelled, SIGINT or SIGTERM, printing its URLs and control endpoints.

    With ``token`` only that token is accepted; with None any well-formed token is.
    """
    standin = StandIn(tokens=[token] if token else None, accept_any_token=token is None)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # Handlers set here, not inherited: a stand-in started from a background job (where SIGINT is ignored)
    # still stops on Ctrl-C or SIGTERM.
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stop.set)
    await standin.start(host, port)
    try:
        print(banner(standin, any_token=token is None), file=out or sys.stdout, flush=True)
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(signum)
        await standin.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``--host``, ``--port``, ``--token`` and serve until Ctrl-C; returns the exit status."""
    parser = argparse.ArgumentParser(prog="standin", description="A local Telegram Bot API stand-in.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 picks one)")
    parser.add_argument("--token", default=None, help="the only bot token to accept (default: any)")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_forever(args.host, args.port, args.token))
    return 0
