"""Bot API error answers, worded as Telegram words them.

Every failure a method handler can report is an :class:`ApiError`; the server turns it into
``{"ok": false, "error_code": N, "description": "..."}`` (plus ``parameters`` for flood control).
The description strings are Telegram's own where they are known; the few that are the stand-in's
own say so in their text.
"""

from __future__ import annotations

from typing import Any

JsonDict = dict[str, Any]

# Telegram's wording for the errors this stand-in reproduces (after the "Bad Request: " prefix).
MESSAGE_TEXT_EMPTY = "message text is empty"
MESSAGE_TOO_LONG = "message is too long"
CAPTION_TOO_LONG = "message caption is too long"
CHAT_NOT_FOUND = "chat not found"
CHAT_ID_EMPTY = "chat_id is empty"
MESSAGE_TO_EDIT_NOT_FOUND = "message to edit not found"
MESSAGE_TO_DELETE_NOT_FOUND = "message to delete not found"
MESSAGE_CANT_BE_EDITED = "message can't be edited"
MESSAGE_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same "
    "as a current content and reply markup of the message"
)
BUTTON_DATA_INVALID = "BUTTON_DATA_INVALID"
BUTTON_URL_INVALID = "BUTTON_URL_INVALID"
REPLY_MARKUP_UNPARSABLE = "can't parse reply keyboard markup JSON object"
ENTITIES_UNPARSABLE = "can't parse entities"
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
BOT_BLOCKED = "bot was blocked by the user"
UNSUPPORTED_PARSE_MODE = "unsupported parse_mode"
WRONG_CHAT_ACTION = "wrong parameter action in request"
BOT_COMMAND_INVALID = "BOT_COMMAND_INVALID"
BOT_COMMAND_DESCRIPTION_INVALID = "BOT_COMMAND_DESCRIPTION_INVALID"
BOT_COMMANDS_TOO_MUCH = "BOT_COMMANDS_TOO_MUCH"
WRONG_FILE_ID = "wrong file identifier/HTTP URL specified"
FILE_EMPTY = "file must be non-empty"
GET_UPDATES_CONFLICT = "terminated by other getUpdates request; make sure that only one bot instance is running"
WEBHOOK_ACTIVE_CONFLICT = (
    "can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
)


class ApiError(Exception):
    """A Bot API failure: HTTP status, Telegram's description and optional response parameters."""

    def __init__(self, status: int, description: str, *, parameters: JsonDict | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def to_payload(self) -> JsonDict:
        """Return the JSON body Telegram sends for this error."""
        payload: JsonDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            payload["parameters"] = dict(self.parameters)
        return payload


def bad_request(detail: str) -> ApiError:
    """A 400 answer: ``Bad Request: <detail>``."""
    return ApiError(400, f"Bad Request: {detail}")


def forbidden(detail: str) -> ApiError:
    """A 403 answer: ``Forbidden: <detail>``."""
    return ApiError(403, f"Forbidden: {detail}")


def conflict(detail: str) -> ApiError:
    """A 409 answer: ``Conflict: <detail>``."""
    return ApiError(409, f"Conflict: {detail}")


def unauthorized() -> ApiError:
    """The 401 answer Telegram gives for a token it does not know."""
    return ApiError(401, "Unauthorized")


def not_found() -> ApiError:
    """The 404 answer api.telegram.org gives for a method it does not have or a malformed token.

    (A self-hosted telegram-bot-api server words the unknown-method case "Not Found: method not
    found"; both start with "Not Found", which is what clients match.)
    """
    return ApiError(404, "Not Found")


def too_many_requests(retry_after: int) -> ApiError:
    """A 429 flood-control answer carrying ``parameters.retry_after`` (whole seconds, at least 1)."""
    seconds = max(1, int(retry_after))
    return ApiError(429, f"Too Many Requests: retry after {seconds}", parameters={"retry_after": seconds})


def internal_server_error() -> ApiError:
    """The bare 500 answer Telegram gives when it fails on its side."""
    return ApiError(500, "Internal Server Error")


def bad_gateway() -> ApiError:
    """The 502 answer a proxy in front of the Bot API gives while it restarts."""
    return ApiError(502, "Bad Gateway")
