"""The gate in front of every account route: key, tenant, then request size.

It runs as plain ASGI middleware before routing and before any byte of the body is
read, so a caller without the right key learns nothing (not even whether a route or a
JSON body is well formed: 401 or 403 comes first), and an oversized body is refused
from its ``Content-Length`` or, when it is streamed, as soon as the count passes the
bound, without buffering it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from suppressor_client.uri import MAX_BODY_BYTES

from workers.api.auth import KeyRing, key_from_headers, may_access
from workers.api.errors import error_body
from workers.domain.files import MAX_IMPORT_BYTES

__all__ = ["ACCOUNT_PREFIX", "BODY_LIMITS", "DEFAULT_BODY_LIMIT", "Guard", "body_limit"]

ACCOUNT_PREFIX = "/v1/accounts/"
DEFAULT_BODY_LIMIT = 64 * 1024
_FORM_OVERHEAD = 64 * 1024  # multipart boundaries and part headers around the file
BODY_LIMITS: dict[str, int] = {
    "import": MAX_IMPORT_BYTES + _FORM_OVERHEAD,
    "filter": 8 * 1024 * 1024,  # MAX_FILTER addresses of ordinary length
    "uri-patterns/check": MAX_BODY_BYTES * 2 + _FORM_OVERHEAD,  # JSON escapes may double it
}
"""Body bound of a route (by its path after the account); every other route: 64 KiB."""


def body_limit(rest: str) -> int:
    return BODY_LIMITS.get(rest.strip("/"), DEFAULT_BODY_LIMIT)


@dataclass(frozen=True, slots=True)
class _Refusal:
    status: int
    code: str
    message: str
    headers: tuple[tuple[bytes, bytes], ...] = ()


_NO_KEY = _Refusal(
    401,
    "unauthorized",
    "an API key is required: Authorization: Bearer <key> or X-API-Key: <key>",
    ((b"www-authenticate", b"Bearer"),),
)
_BAD_KEY = _Refusal(401, "unauthorized", "the API key is not valid", _NO_KEY.headers)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def _refuse(send: Send, refusal: _Refusal) -> None:
    body = json.dumps(error_body(refusal.code, refusal.message)).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *refusal.headers,
    ]
    await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Guard:
    """ASGI middleware: 401 without a valid key, 403 for another account, 413 when too big."""

    def __init__(
        self, app: ASGIApp, keys: KeyRing, limits: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.keys = keys
        self.limits = dict(limits or {})  # bounds from settings, over ``BODY_LIMITS``

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith(ACCOUNT_PREFIX):
            await self.app(scope, receive, send)
            return
        account, _, rest = path[len(ACCOUNT_PREFIX) :].partition("/")
        refusal = self._check(scope, account)
        if refusal is not None:
            await _refuse(send, refusal)
            return
        limit = self.limits.get(rest.strip("/")) or body_limit(rest)
        await self._bounded(scope, receive, send, limit)

    def _check(self, scope: Scope, account: str) -> _Refusal | None:
        key = key_from_headers(_header(scope, b"authorization"), _header(scope, b"x-api-key"))
        if key is None:
            return _NO_KEY
        principal = self.keys.account_for(key)
        if principal is None:
            return _BAD_KEY
        if not may_access(principal, account):
            return _Refusal(403, "forbidden", "this API key does not open that account's lists")
        scope.setdefault("state", {})["principal"] = principal
        return None

    async def _bounded(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        too_large = _Refusal(413, "too_large", f"the request body is over {limit} bytes")
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _refuse(send, too_large)
            return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:  # FastAPI passes an HTTPException raised here through
                    raise HTTPException(413, too_large.message)
            return message

        await self.app(scope, counting_receive, send)
