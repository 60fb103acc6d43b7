"""Running the stand-in in the foreground, in-process and as ``python -m standin``."""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
import signal
import sys
from pathlib import Path

import aiohttp

from standin import serve_forever

REPO_ROOT = Path(__file__).resolve().parents[2]
URL = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")


async def test_serve_forever_prints_where_it_listens_and_serves(http: aiohttp.ClientSession) -> None:
    out = io.StringIO()
    server = asyncio.create_task(serve_forever("127.0.0.1", 0, "777:secret", out=out))
    try:
        deadline = asyncio.get_running_loop().time() + 60
        while not URL.search(out.getvalue()) and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)
        found = URL.search(out.getvalue())
        assert found is not None, out.getvalue()
        banner = out.getvalue()
        assert "/_control/" in banner and "user_sends_text" in banner and f"{found[1]}/bot" in banner
        async with http.get(f"{found[1]}/bot777:secret/getMe") as response:
            assert (await response.json())["ok"] is True
        async with http.get(f"{found[1]}/bot777:other/getMe") as response:
            assert response.status == 401
    finally:
        server.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await server


async def test_python_dash_m_runs_until_interrupted(http: aiohttp.ClientSession) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "standin",
        "--port",
        "0",
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        first_line = (await asyncio.wait_for(process.stdout.readline(), timeout=60)).decode()
        found = URL.search(first_line)
        assert found is not None, first_line
        async with http.get(f"{found[1]}/bot123:any-token/getMe") as response:
            assert (await response.json())["ok"] is True  # without --token any well-formed token works
        process.send_signal(signal.SIGINT)
        # communicate() drains both pipes, so a chatty shutdown can never block on a full pipe.
        _, errors = await asyncio.wait_for(process.communicate(), timeout=60)
        assert process.returncode == 0, errors.decode(errors="replace")[-3000:]
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
