"""A recording BaseRequest: answers Bot API calls in-process the way Telegram would, and keeps them.

Used as PTB's own tests use OfflineRequest: the handlers run for real, no port is opened.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from telegram.request import BaseRequest, RequestData

BOT_ID = 7000001
TOKEN = f"{BOT_ID}:TEST-token-abcdefghijklmnopqrstuvwxyz12345"


@dataclass
class Call:
    method: str
    params: dict[str, Any]


@dataclass
class RecordingRequest(BaseRequest):
    calls: list[Call] = field(default_factory=list)
    next_message_id: int = 1000
    fail_methods: dict[str, list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        self.calls.append(Call(api_method, params))
        queued = self.fail_methods.get(api_method)
        if queued:
            status, body = queued.pop(0)
            return status, json.dumps(body).encode()
        return 200, json.dumps({"ok": True, "result": self._result(api_method, params)}).encode()

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "Springboard",
                "username": "springboard_test_bot",
            }
        if method in {"sendMessage", "editMessageText", "editMessageReplyMarkup"}:
            if method == "sendMessage":
                self.next_message_id += 1
                message_id = self.next_message_id
                params["_message_id"] = message_id
            else:
                message_id = int(params["message_id"])
            message: dict[str, Any] = {
                "message_id": message_id,
                "date": 1_764_000_000,
                "chat": {"id": int(params["chat_id"]), "type": "private", "first_name": "Sam"},
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "Springboard"},
                "text": params.get("text", "…"),
            }
            if params.get("reply_markup"):
                message["reply_markup"] = params["reply_markup"]
            return message
        return True

    def sent(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        return [call.params for call in self.calls if call.method == method]

    def clear(self) -> None:
        self.calls.clear()
