"""A local stand-in for Telegram's Bot API, so the bot can be tested without the internet.

:class:`StandIn` is an aiohttp server that answers ``/bot<token>/<method>`` as Telegram does
(form-encoded, multipart or JSON bodies; Telegram's result shapes and error wording), so
python-telegram-bot works against it with ``base_url=standin.bot_api_url``. It also plays the
users: queue their messages and button presses, then read what each chat shows.

Bot API methods answered: getMe, logOut, close, getUpdates (long polling, offset, limit,
allowed_updates, 409 on a competing poll), setWebhook, deleteWebhook, getWebhookInfo,
setMyCommands, getMyCommands, deleteMyCommands, set/getMyDescription, set/getMyShortDescription,
set/getMyName, set/getChatMenuButton, sendMessage, editMessageText, editMessageCaption,
editMessageReplyMarkup, deleteMessage, answerCallbackQuery, sendChatAction, sendDocument,
sendPhoto, getFile (bytes under ``/file/bot<token>/<file_path>``), getChat. Other methods, and
malformed tokens, answer 404 ``Not Found`` as api.telegram.org does.

Checks with Telegram's errors: empty text, text over 4096 / caption over 1024 UTF-16 units after
HTML parsing, unparsable HTML (``can't parse entities: ...``; a bare ``&`` too, stricter than
Telegram, unless ``strict_html=False``), unknown chat, message to edit/delete not found, message
not modified, callback_data over 64 bytes (BUTTON_DATA_INVALID), bad reply_markup JSON, unknown
or answered callback query, user blocked the bot (403), wrong token (401).

Control API (Python methods on :class:`StandIn`; the same names over HTTP as
``POST /_control/<name>`` with a JSON object of arguments, read-only ones also as GET with a
query string; answers ``{"ok": true, "result": ...}``; ``GET /_control/`` lists them):

- ``user_sends_text(user_id, text, chat_id=None, chat_type="private", first_name=...)``
- ``user_presses_button(user_id, message_id, text=None | data=None, chat_id=None)``
- ``user_sends_sticker / user_sends_photo / user_sends_location(user_id, latitude, longitude)``
- ``user_edits_message(user_id, message_id, text)``; ``block_bot(user_id)``; ``unblock_bot``
- ``skip_update_ids(count)`` (update ids jump, as Telegram's can)
- ``queue_raw_update(update)``: an update exactly as given (the stand-in adds its id), malformed too,
  delivered whatever ``allowed_updates`` says and left out of the specification check
- ``chat_messages(chat_id, include_deleted=False)``, ``bot_messages(chat_id)``, ``transcript(chat_id)``
- ``wait_for_bot_messages(chat_id, count=1, timeout=5)``, ``wait_for_polling(timeout=5)`` (HTTP:
  408 on timeout); Python also has ``wait_until(predicate)``, ``wait_for_confirmation(update_id)``,
  ``wait_for_callback_answer(query_id)``, ``is_polling``, ``in_flight()``
- ``callback_answers()``, ``chat_actions(chat_id)``, ``requests(method=None)``, ``clear_requests()``
- ``inject_fault(kind=429|500|502|delay|drop|error, method="*", retry_after, seconds, times,
  probability)`` (Python: ``inject_fault(method, Fault.too_many_requests(3))``,
  ``set_fault_chance(...)``), ``clear_faults()``
- ``enable_rate_limit(overall=30, per_chat=1, window=1)``, ``disable_rate_limit()``
- ``state()``, ``reset()``

Run it in the foreground with ``python -m standin --port 8081`` (see :func:`serve_forever`).
:class:`SpecChecker` checks requests and responses against the Bot API specification JSON.
"""

from standin.cli import main, serve_forever
from standin.errors import ApiError
from standin.faults import Fault, RateLimits
from standin.htmltext import EntityParseError, ParsedText, parse_html, utf16_len
from standin.records import BotIdentity, CallbackQueryRecord, ChatMessage, SentUpdate, StoredFile
from standin.requestlog import RequestRecord
from standin.server import StandIn
from standin.spec import SpecChecker
from standin.users import ControlError, InvalidActionError, NotFoundError

__all__ = [
    "ApiError",
    "BotIdentity",
    "CallbackQueryRecord",
    "ChatMessage",
    "ControlError",
    "EntityParseError",
    "Fault",
    "InvalidActionError",
    "NotFoundError",
    "ParsedText",
    "RateLimits",
    "RequestRecord",
    "SentUpdate",
    "SpecChecker",
    "StandIn",
    "StoredFile",
    "main",
    "parse_html",
    "serve_forever",
    "utf16_len",
]
