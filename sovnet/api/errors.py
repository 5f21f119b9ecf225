"""Every refusal as JSON, {"error": "FIELD: what is wrong (expected ...)", "field": FIELD}.

    400  the store or a parser refused the input, in the CLI's words
    401  no token, or one the tokens file does not hold (WWW-Authenticate: Bearer)
    403  the token's role does not allow it
    404  no such route or resource          405  not with that method
    413  the body is too large              422  the body or a parameter has the wrong shape
    429  over the token's rate (Retry-After)
    500  a fault of the server's own: logged there with its traceback, never sent

Nothing is written in any refusal: each operation checks everything before it writes, and a
write is one store transaction, which commits all or nothing.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sovnet.api.roles import Forbidden

# Where a parameter or field came from: not part of its name in a message.
_SOURCES = ("body", "query", "path", "header")


class ApiError(Exception):
    """A refusal: its status, the whole message, and the field it is about ("" if none)."""

    def __init__(self, status: int, message: str, field: str = "",
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.headers = headers or {}


def bad_input(text: str, field: str = "") -> ApiError:
    """400, 'FIELD: TEXT': the parser's or the store's words, with the field they are about."""
    return ApiError(400, f"{field}: {text}" if field else text, field)


def unauthorized(message: str, invalid: bool) -> ApiError:
    # RFC 6750: a request without credentials gets the bare challenge; a bad token is named.
    challenge = 'Bearer realm="sovnet"' + (', error="invalid_token"' if invalid else "")
    return ApiError(401, message, headers={"WWW-Authenticate": challenge})


def error_body(message: str, field: str = "") -> dict[str, str]:
    return {"error": message, **({"field": field} if field else {})}


def validation_message(err: dict[str, Any]) -> tuple[str, str]:
    """(field, 'field: what was expected, got what') from one of pydantic's errors."""
    loc = [str(x) for x in err.get("loc", ())]
    where = [x for x in loc if x not in _SOURCES]
    field = ".".join(where) or (loc[0] if loc else "request")
    kind, ctx, got = err.get("type", ""), err.get("ctx") or {}, err.get("input")
    shown = f", got {got!r}" if not isinstance(got, (dict, list)) and got is not None else ""
    if kind == "missing":
        text = "missing (expected a value)"
    elif kind in ("int_parsing", "int_type", "int_from_float"):
        text = f"expected a whole number{shown}"
    elif kind in ("float_parsing", "float_type"):
        text = f"expected a number{shown}"
    elif kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = {"greater_than_equal": f"at least {ctx.get('ge')}",
                 "greater_than": f"more than {ctx.get('gt')}",
                 "less_than_equal": f"at most {ctx.get('le')}",
                 "less_than": f"less than {ctx.get('lt')}"}[kind]
        text = f"{got} out of range (expected {bound})"  # a number, as it was written
    elif kind in ("string_type", "string_too_short", "string_too_long"):
        text = f"expected a text{_length(ctx)}{shown}"
    elif kind in ("bool_parsing", "bool_type"):
        text = f"expected true or false{shown}"
    elif kind in ("list_type", "too_short", "too_long"):
        text = f"expected a list{_length(ctx)}"
    elif kind in ("dict_type", "model_type", "model_attributes_type"):
        text = "expected a JSON object"
    elif kind == "extra_forbidden":
        text = "unknown field (expected only the fields /openapi.json lists for this request)"
    elif kind == "json_invalid":
        field, text = "body", f"not valid JSON ({ctx.get('error', 'cannot be parsed')})"
    else:
        text = f"{err.get('msg', 'invalid')}{shown}"
    return field, f"{field}: {text}"


def _length(ctx: dict[str, Any]) -> str:
    lo, hi = ctx.get("min_length"), ctx.get("max_length")
    if lo is not None and hi is not None:
        return f" of {lo} to {hi} items" if lo else f" of at most {hi}"
    if lo:
        return f" of at least {lo}"
    return f" of at most {hi}" if hi is not None else ""


def install(app: FastAPI) -> None:
    """Make every error a JSON body with a message; log a fault, tell the client only that."""

    async def api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return JSONResponse(error_body(exc.message, exc.field), exc.status, headers=exc.headers)

    async def not_allowed(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(error_body(str(exc)), 403)

    async def invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = list(exc.errors())
        field, text = validation_message(errors[0]) if errors else ("request", "invalid")
        if len(errors) > 1:
            text += f" (and {len(errors) - 1} more)"
        return JSONResponse(error_body(text, field), 422)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404:
            text = f"no such resource: {request.method} {request.url.path} (the routes are " \
                   "listed in /openapi.json)"
        elif exc.status_code == 405:
            text = f"{request.method} is not allowed on {request.url.path} (the methods each " \
                   "route takes are listed in /openapi.json)"
        else:
            text = str(exc.detail)
        return JSONResponse(error_body(text), exc.status_code, headers=exc.headers)

    async def fault(request: Request, exc: Exception) -> JSONResponse:
        # Starlette raises the exception again once this is sent: uvicorn logs its traceback.
        return JSONResponse(error_body("internal error: the server could not complete the "
                                       "request (its log says why)"), 500)

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(Forbidden, not_allowed)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, fault)
