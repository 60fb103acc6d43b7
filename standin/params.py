"""Request parameters as Telegram reads them.

Bot API clients send parameters as a query string, ``application/x-www-form-urlencoded``,
``multipart/form-data`` (uploads) or JSON. :func:`read_params` turns any of these into one dict
of raw values: strings for form fields, native values for a JSON body, :class:`FilePart` for an
uploaded file. :class:`Params` then reads them leniently, the way Telegram does (an integer that
does not parse counts as 0, ``"true"``/``"1"`` are true, JSON-serialised objects are decoded).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import BodyPartReader, web

from standin.errors import ApiError, bad_request

JsonDict = dict[str, Any]

MAX_UPLOAD_BYTES = 50 * 1024 * 1024

# Parameters whose value is a JSON-serialised object or array in a form-encoded request.
JSON_PARAMS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "commands",
        "scope",
        "allowed_updates",
        "link_preview_options",
        "reply_parameters",
        "media",
        "message_ids",
        "menu_button",
        "results",
        "options",
        "permissions",
        "suggested_post_parameters",
        "reaction",
    }
)


@dataclass(frozen=True)
class FilePart:
    """One uploaded file from a multipart request."""

    field: str
    filename: str | None
    content_type: str | None
    data: bytes

    @property
    def size(self) -> int:
        """The number of bytes uploaded."""
        return len(self.data)

    def describe(self) -> JsonDict:
        """A JSON-friendly summary (no bytes) for logs and the control API."""
        return {
            "file": True,
            "field": self.field,
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
        }


async def read_params(request: web.Request) -> dict[str, Any]:
    """Collect every parameter of ``request``: query string first, then the body on top.

    Raises :class:`ApiError` (400) for a body that cannot be read as its content type says.
    """
    params: dict[str, Any] = dict(request.query)
    if not request.can_read_body:
        return params
    content_type = request.content_type
    if content_type == "multipart/form-data":
        params.update(await _read_multipart(request))
    elif content_type == "application/json":
        try:
            body = await request.json()
        except ValueError as error:
            raise bad_request("can't parse JSON encoded request body") from error
        if not isinstance(body, dict):
            raise bad_request("JSON encoded request body must be an object")
        params.update(body)
    else:
        form = await request.post()
        params.update({key: value for key, value in form.items() if isinstance(value, str)})
    return params


async def _read_multipart(request: web.Request) -> dict[str, Any]:
    reader = await request.multipart()
    fields: dict[str, Any] = {}
    total = 0
    while True:
        part = await reader.next()
        if part is None:
            return fields
        if not isinstance(part, BodyPartReader) or part.name is None:
            continue
        data = bytes(await part.read(decode=False))
        total += len(data)
        if total > MAX_UPLOAD_BYTES:
            raise ApiError(413, "Request Entity Too Large")
        if part.filename is not None:
            fields[part.name] = FilePart(part.name, part.filename, part.headers.get("Content-Type"), data)
        else:
            fields[part.name] = data.decode(part.get_charset("utf-8"), errors="replace")


def decode_json_value(value: Any) -> Any:
    """Return ``value`` decoded if it is a JSON string, else unchanged. Raises ValueError on bad JSON."""
    if isinstance(value, str):
        return json.loads(value)
    return value


def decoded_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of ``params`` with JSON-serialised parameters decoded where they parse."""
    decoded: dict[str, Any] = {}
    for name, value in params.items():
        if name in JSON_PARAMS and isinstance(value, str):
            try:
                decoded[name] = json.loads(value)
            except ValueError:
                decoded[name] = value
        else:
            decoded[name] = value
    return decoded


def loggable(params: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``params`` decoded, with uploaded files replaced by their JSON summary."""
    return {
        name: value.describe() if isinstance(value, FilePart) else value
        for name, value in decoded_params(params).items()
    }


class Params:
    """Typed, Telegram-lenient access to one request's raw parameters."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = dict(raw)

    def has(self, name: str) -> bool:
        """True if the parameter was sent with a non-empty value."""
        value = self.raw.get(name)
        return value is not None and value != ""

    def text(self, name: str) -> str | None:
        """The parameter as a string (numbers are stringified), or None if absent."""
        value = self.raw.get(name)
        if value is None or isinstance(value, FilePart):
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, dict | list):
            return json.dumps(value)
        return str(value)

    def integer(self, name: str, default: int = 0) -> int:
        """The parameter as an int; absent gives ``default``, unparsable gives 0 as in Telegram."""
        value = self.raw.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        if isinstance(value, float):
            return int(value)
        try:
            return int(str(value).strip())
        except ValueError:
            return 0

    def number(self, name: str, default: float = 0.0) -> float:
        """The parameter as a float; absent or unparsable gives ``default``."""
        value = self.raw.get(name)
        if value is None or value == "" or isinstance(value, FilePart):
            return default
        try:
            return float(value)
        except (TypeError, ValueError):
            return default

    def flag(self, name: str) -> bool:
        """The parameter as a bool: true, "true", "True" or "1" are true; anything else is false."""
        value = self.raw.get(name)
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return value != 0
        return isinstance(value, str) and value.strip().lower() in {"true", "1"}

    def json(self, name: str, error: str) -> Any:
        """The parameter decoded from JSON (or as sent in a JSON body); None if absent.

        Raises a 400 :class:`ApiError` with description ``error`` if it is not valid JSON.
        """
        value = self.raw.get(name)
        if value is None or value == "":
            return None
        try:
            return decode_json_value(value)
        except ValueError as exc:
            raise bad_request(error) from exc

    def file(self, name: str) -> FilePart | str | None:
        """An uploaded file, a file_id / URL / attach:// string, or None if absent."""
        value = self.raw.get(name)
        if isinstance(value, FilePart):
            return value
        if isinstance(value, str) and value.startswith("attach://"):
            attached = self.raw.get(value.removeprefix("attach://"))
            return attached if isinstance(attached, FilePart) else value
        return self.text(name) if self.has(name) else None
