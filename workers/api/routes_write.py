"""Routes that change lists: each one command on ``suppression-commands``.

The routes are a table (path, command type, body shape): every write is the same
three steps, build the command from the body, submit it, wait until readers see it.
The answer is 200 with ``visible: true`` once the sender view shows the effect, or 202
with ``visible: false`` when ``WRITE_WAIT`` passed first (the command is on the topic and
will apply; poll a read to see it). The recipient allowlist takes one address per call by
design (SPEC §6): its body holds exactly one ``email``, and nothing else is accepted.
"""

from __future__ import annotations

from collections.abc import Callable
from inspect import Parameter, Signature
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel
from suppressor_client.types import CommandType
from suppressor_client.uri import compile_pattern

from workers.api.deps import AccountId, authorized, write, writer
from workers.api.models import (
    AddressRequest,
    DomainAllowRequest,
    DomainRuleRequest,
    UriPatternRequest,
    WriteResponse,
)
from workers.api.protocols import Writer
from workers.api.responses import ERRORS, WRITE_RESPONSES
from workers.service.list_tools import make_command

__all__ = ["router"]

router = APIRouter(prefix="/v1/accounts/{account_id}", dependencies=[Depends(authorized)])
WriterDep = Annotated[Writer, Depends(writer)]


_PRECHECKS: dict[CommandType, Callable[[dict[str, Any]], object]] = {
    CommandType.URI_ADD: lambda cmd: compile_pattern(cmd["pattern"]),
}
"""Checks the worker makes only when it applies a command (it would go to the DLQ)."""


def command(kind: CommandType, account_id: str, body: BaseModel | None = None) -> dict[str, Any]:
    """The command a request asks for (body fields, type, account); refused here if bad.

    ``parse_command`` (in the writer) checks the shape; ``_PRECHECKS`` add what only
    applying it would find, so a bad pattern is a 422 now, not a silent DLQ record later.
    """
    cmd = make_command(kind, account_id, **(body.model_dump() if body is not None else {}))
    check = _PRECHECKS.get(kind)
    if check is not None:
        check(cmd)
    return cmd


def _route(kind: CommandType, body: type[BaseModel] | None) -> Callable[..., WriteResponse]:
    """One route function for a command type, its body parameter typed by ``body``.

    FastAPI reads parameters from the signature, so the body's model is set there:
    one function serves every body shape instead of one near-copy per model.
    """

    def route(
        account_id: str, response: Response, out: Writer, body: BaseModel | None = None
    ) -> WriteResponse:
        return write(out, response, command(kind, account_id, body))

    params = [
        Parameter("account_id", Parameter.KEYWORD_ONLY, annotation=AccountId),
        Parameter("response", Parameter.KEYWORD_ONLY, annotation=Response),
        Parameter("out", Parameter.KEYWORD_ONLY, annotation=WriterDep),
    ]
    if body is not None:
        params.append(Parameter("body", Parameter.KEYWORD_ONLY, annotation=body))
    route.__signature__ = Signature(params, return_annotation=WriteResponse)  # type: ignore[attr-defined]
    return route


WRITES: tuple[tuple[str, CommandType, type[BaseModel] | None, str], ...]
WRITES = (
    ("", CommandType.ACCOUNT_CREATE, None, "Create the account (applies the default domain pool)"),
    (
        "/addresses/block",
        CommandType.ADDRESS_BLOCK,
        AddressRequest,
        "Block an address (reason 2, with notes)",
    ),
    (
        "/addresses/unblock",
        CommandType.ADDRESS_UNBLOCK,
        AddressRequest,
        "Release every suppression of an address and reset its ladder",
    ),
    (
        "/addresses/allow",
        CommandType.ADDRESS_ALLOW,
        AddressRequest,
        "Allow an address past the domain rules",
    ),
    (
        "/addresses/disallow",
        CommandType.ADDRESS_DISALLOW,
        AddressRequest,
        "Remove an address allow",
    ),
    (
        "/domains/block",
        CommandType.DOMAIN_RULE_SET,
        DomainRuleRequest,
        "Set a domain rule (send block, collection block or both)",
    ),
    (
        "/domains/unblock",
        CommandType.DOMAIN_RULE_REMOVE,
        DomainAllowRequest,
        "Remove a domain rule",
    ),
    (
        "/domains/allow",
        CommandType.DOMAIN_ALLOW_ADD,
        DomainAllowRequest,
        "Add a domain to the domain allow list (turns it on)",
    ),
    (
        "/domains/disallow",
        CommandType.DOMAIN_ALLOW_REMOVE,
        DomainAllowRequest,
        "Remove a domain from the domain allow list",
    ),
    (
        "/allowlist/add",
        CommandType.ALLOWLIST_ADD,
        AddressRequest,
        "Put ONE address on the recipient allowlist (never suppressed)",
    ),
    (
        "/allowlist/remove",
        CommandType.ALLOWLIST_REMOVE,
        AddressRequest,
        "Take one address off the recipient allowlist",
    ),
    (
        "/uri-patterns",
        CommandType.URI_ADD,
        UriPatternRequest,
        "Add an anchored re2 URI pattern (turns the URI allowlist on)",
    ),
    ("/uri-patterns/remove", CommandType.URI_REMOVE, UriPatternRequest, "Remove a URI pattern"),
)
"""(path after the account, command, body model or None, summary)."""

for _path, _kind, _body, _summary in WRITES:
    router.add_api_route(
        _path,
        _route(_kind, _body),
        methods=["POST"],
        summary=_summary,
        name=_kind.value,
        operation_id=_kind.value.replace(".", "_"),
        tags=["lists"],
        response_model=WriteResponse,
        responses={**WRITE_RESPONSES, **ERRORS},
    )
