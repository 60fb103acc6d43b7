"""Bot API methods that deliver updates: getUpdates (long polling) and the webhook trio.

The stand-in never calls a webhook (it makes no outgoing requests); setWebhook is stored so that
getUpdates answers 409 while one is set, as Telegram does.
"""

from __future__ import annotations

import time
from typing import Any

from standin import errors
from standin.errors import bad_request, conflict
from standin.registry import Call, Handler

MAX_POLL_TIMEOUT = 50.0


async def get_updates(call: Call) -> Any:
    """getUpdates: confirm ``offset``, then return pending updates, waiting up to ``timeout`` s.

    A newer getUpdates call ends a waiting one with 409 Conflict, as Telegram does when two bot
    instances poll the same token.
    """
    world, params = call.world, call.params
    if world.settings.webhook is not None:
        raise conflict(errors.WEBHOOK_ACTIVE_CONFLICT)
    queue = world.updates
    generation = queue.start_poll()
    if params.has("offset"):
        queue.confirm(params.integer("offset"))
    allowed = params.json("allowed_updates", "can't parse allowed_updates JSON array")
    if allowed is not None:
        if not isinstance(allowed, list):
            raise bad_request("can't parse allowed_updates JSON array")
        queue.set_allowed([str(kind) for kind in allowed])
    limit = params.integer("limit", 100) or 100
    deadline = time.monotonic() + min(max(params.number("timeout"), 0.0), MAX_POLL_TIMEOUT)
    while True:
        if queue.poll_generation != generation:
            raise conflict(errors.GET_UPDATES_CONFLICT)
        batch = queue.deliverable(limit)
        remaining = deadline - time.monotonic()
        if batch or remaining <= 0 or world.closing:
            return batch
        await world.signal.wait(remaining)


async def set_webhook(call: Call) -> Any:
    """setWebhook: remember the URL (an empty URL removes the webhook)."""
    url = call.params.text("url") or ""
    if url and not url.lower().startswith("https://"):
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    world = call.world
    world.settings.webhook = (
        {"url": url, "max_connections": call.params.integer("max_connections", 40)} if url else None
    )
    if call.params.flag("drop_pending_updates"):
        world.updates.drop_all()
    world.changed()
    return True


async def delete_webhook(call: Call) -> Any:
    """deleteWebhook: forget the webhook; drop pending updates if asked."""
    world = call.world
    world.settings.webhook = None
    if call.params.flag("drop_pending_updates"):
        world.updates.drop_all()
    world.changed()
    return True


async def get_webhook_info(call: Call) -> Any:
    """getWebhookInfo: the stored webhook (url "" when polling) and the pending update count."""
    world = call.world
    webhook = world.settings.webhook or {}
    info: dict[str, Any] = {
        "url": webhook.get("url", ""),
        "has_custom_certificate": False,
        "pending_update_count": len(world.updates.pending),
    }
    if webhook:
        info["max_connections"] = webhook["max_connections"]
    if world.updates.allowed_updates is not None:
        info["allowed_updates"] = sorted(world.updates.allowed_updates)
    return info


HANDLERS: dict[str, Handler] = {
    "getUpdates": get_updates,
    "setWebhook": set_webhook,
    "deleteWebhook": delete_webhook,
    "getWebhookInfo": get_webhook_info,
}
