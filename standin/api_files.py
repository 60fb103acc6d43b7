"""Bot API methods that carry files: sendDocument, sendPhoto, getFile.

An uploaded file (multipart) is kept with its name, type and bytes; a file_id the stand-in
handed out before is reused; an http(s) URL is accepted without fetching anything.
"""

from __future__ import annotations

import struct
from typing import Any
from urllib.parse import unquote, urlsplit

from standin import content, errors
from standin.api_messages import new_bot_message
from standin.errors import bad_request
from standin.params import FilePart
from standin.records import StoredFile
from standin.registry import Call, Handler
from standin.world import World

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG or GIF image, or None for anything else."""
    if data.startswith(_PNG_SIGNATURE) and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    return None


def _input_file(world: World, value: FilePart | str | None, kind: str) -> StoredFile:
    if value is None:
        raise bad_request(f"there is no {kind} in the request")
    if isinstance(value, FilePart):
        if not value.data:
            raise bad_request(errors.FILE_EMPTY)
        size = image_size(value.data) if kind == "photo" else None
        return world.store_file(
            kind,
            value.data,
            file_name=value.filename,
            mime_type=value.content_type,
            width=size[0] if size else None,
            height=size[1] if size else None,
        )
    known = world.files.get(value)
    if known is not None:
        return known
    if value.lower().startswith(("http://", "https://")):
        name = unquote(urlsplit(value).path.rsplit("/", 1)[-1]) or None
        return world.store_file(kind, b"", file_name=name)
    raise bad_request(errors.WRONG_FILE_ID)


async def _send_file(call: Call, kind: str) -> Any:
    world, params = call.world, call.params
    parsed = content.caption(params, strict_html=world.strict_html)
    markup = content.reply_markup(params)
    stored = _input_file(world, params.file(kind), kind)
    chat = world.writable_chat(params)
    message = new_bot_message(
        world,
        chat,
        params,
        caption=parsed.text if parsed else None,
        caption_entities=list(parsed.entities) if parsed else [],
        parse_mode=params.text("parse_mode"),
        reply_markup=markup.inline,
        reply_keyboard=markup.other,
        **{kind: stored},
    )
    return world.render(message)


async def send_document(call: Call) -> Any:
    """sendDocument: keep the uploaded file and post it (with caption) to the chat."""
    return await _send_file(call, "document")


async def send_photo(call: Call) -> Any:
    """sendPhoto: keep the uploaded image and post it (with caption) to the chat."""
    return await _send_file(call, "photo")


async def get_file(call: Call) -> Any:
    """getFile: the File for a known file_id; its bytes are served under /file/bot<token>/<path>."""
    stored = call.world.files.get(call.params.text("file_id") or "")
    if stored is None:
        raise bad_request("invalid file_id")
    return stored.to_file()


HANDLERS: dict[str, Handler] = {
    "sendDocument": send_document,
    "sendPhoto": send_photo,
    "getFile": get_file,
}
