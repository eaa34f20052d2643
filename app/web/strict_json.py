"""Request bodies read strictly: a key given twice, or nesting deeper than any answer needs, is refused.

Python's JSON reader keeps the last of duplicated keys, so {"ki67_percent": 5, "ki67_percent": 50}
would be answered for 50 % while a client (or a person reading the request) meant 5 %; and a
body nested thousands of levels deep exhausts the reader's recursion.  Both are bad input: 422
with a message naming the field, before FastAPI parses the body itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

MAX_DEPTH = 20
"""The findings nest 2 deep and a CDS Hooks request with coded Observations about 9
(request → prefetch → Bundle → entry → resource → valueCodeableConcept → coding); 20 leaves room
for FHIR extensions and any client's wrapping."""


class _Duplicate(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _Duplicate(key)
        seen[key] = value
    return seen


def _depth(text: str) -> int:
    """The deepest nesting of objects and arrays, counted without recursion (brackets inside strings skipped)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def check_body(body: bytes) -> None:
    """Raise RequestValidationError for a duplicated key or excessive nesting; leave other errors to FastAPI."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return
    if _depth(text) > MAX_DEPTH:
        raise RequestValidationError(
            [{"loc": ("body",), "type": "value_error", "msg": f"the JSON is nested more than {MAX_DEPTH} levels deep"}]
        )
    try:
        json.loads(text, object_pairs_hook=_no_duplicates)
    except _Duplicate as exc:
        raise RequestValidationError(
            [{"loc": ("body", exc.key), "type": "duplicate_key", "msg": "given more than once"}]
        ) from None
    except ValueError:
        return  # not JSON at all: FastAPI's own answer (400, turned into a readable 422)


class StrictJSONError(ValueError):
    """A body `strict_loads` refuses; the message names the problem and never repeats the body."""


def strict_loads(body: bytes) -> Any:
    """The JSON value of `body` (UTF-8), refusing what `check_body` refuses and anything that is not JSON."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise StrictJSONError("the body is not UTF-8 text") from None
    if _depth(text) > MAX_DEPTH:
        raise StrictJSONError(f"the JSON is nested more than {MAX_DEPTH} levels deep")
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except _Duplicate as exc:
        raise StrictJSONError(f"the key '{exc.key[:40]}' is given more than once") from None
    except ValueError as exc:
        raise StrictJSONError(f"the body is not valid JSON ({str(exc).split(':')[0]})") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


class StrictJSONRoute(APIRoute):
    """An API route whose JSON body is checked by `check_body` before it is parsed."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict_handler(request: Request) -> Response:
            if request.method in ("POST", "PUT", "PATCH"):
                check_body(await request.body())
            return await handler(request)

        return strict_handler
