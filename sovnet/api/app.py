"""The FastAPI application: the store's policy commands as resources under /v1.

    GET    /v1/status                          the store's revision, the token's role
    GET    /v1/policies[?at=REV]               policy list [--at REV]
    POST   /v1/policies                        policy add
    GET    /v1/policies/{id}                   one policy in force
    DELETE /v1/policies/{id}[?why=]            policy revoke ID
    POST   /v1/revocations                     policy revoke ID... (one revision)
    POST   /v1/policy-sets[?why=]              policy load (the file's content as JSON)
    GET    /v1/subscribers[/{name}]            subscriber list
    POST   /v1/subscribers/{name}/status       subscriber register|verify|privilege|revoke
    PUT    /v1/subscribers/{name}/standing     subscriber standing NAME N
    POST   /v1/devices                         device register SUBSCRIBER MAC
    DELETE /v1/devices/{mac}[?why=]            device revoke MAC
    GET    /v1/history[?n=&since=]             history
    GET    /v1/enforcement[/{revision}]        enforcement [REV]
    GET    /v1/explain?src=&dst=[&proto=&port=&sni=&at=]   explain SRC DST
    GET    /v1/flowlog[?subscriber=&service=&since=&limit=]  flowlog
    GET    /v1/retention, PUT /v1/retention    retention [SECONDS]

The OpenAPI document is served at /openapi.json, without a token; no HTML docs page (it
would load its scripts from a CDN). Endpoints are plain functions: FastAPI runs them in its
thread pool, and the store serialises them on its one connection.

(No `from __future__ import annotations` here: FastAPI reads the endpoints' annotations, which
name `Who`, local to create_app.)
"""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from sovnet.api import errors
from sovnet.api.auth import Authenticator
from sovnet.api.limits import BodyLimit, RateLimiter
from sovnet.api.models import (
    DeviceIn,
    PolicyIn,
    PolicySetIn,
    RetentionIn,
    RevocationIn,
    StandingIn,
    StatusIn,
)
from sovnet.api.roles import Identity
from sovnet.api.tokens import TokenCache
from sovnet.api.writes import Operations
from sovnet.store.base import PolicyStore

DEFAULT_MAX_BODY = 1 << 20  # a policy set of some thousand policies
# FastAPI's OpenTelemetry instrumentation, off: nothing here exports traces, and an
# OTEL_* variable in the environment must not make the server start sending them.
NO_TELEMETRY: Any = {"tracing": False, "metrics": False, "logs": False,
                     "operation_spans": False, "auto_configure": False}


class ErrorOut(BaseModel):
    error: str
    field: str | None = None


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": text} for code, text in (
        (400, "the input was refused, in the CLI's words"),
        (401, "no token, or one not in the tokens file"),
        (403, "the token's role does not allow it"),
        (422, "the body or a parameter has the wrong shape"),
        (429, "over the token's rate; see Retry-After"))}

Why = Annotated[str, Query(max_length=2000, description="the revision's reason (--why)")]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sovnet")
    except PackageNotFoundError:  # a source tree that was never installed
        return "unknown"


def create_app(store: PolicyStore, tokens: TokenCache, limiter: RateLimiter | None = None,
               max_body: int = DEFAULT_MAX_BODY, read_only: str = "") -> FastAPI:
    ops = Operations(store, read_only)
    auth = Authenticator(tokens, limiter, ops.topology)
    bearer = HTTPBearer(auto_error=False, bearerFormat="sovnet token",
                        description="a token from `sovnet api token add`")

    def identity(credentials: Annotated[HTTPAuthorizationCredentials | None,
                                        Depends(bearer)]) -> Identity:
        return auth.identify(credentials)

    Who = Annotated[Identity, Depends(identity)]
    v1 = APIRouter(prefix="/v1", responses=ERRORS)

    @v1.get("/status", tags=["store"])
    def status(who: Who) -> dict[str, Any]:
        """The store's latest revision and topology, and who the token is."""
        return ops.status(who)

    # -- policies -----------------------------------------------------------------------------
    @v1.get("/policies", tags=["policies"])
    def list_policies(who: Who, at: Annotated[int | None, Query(
            description="the policies in force at this revision")] = None) -> list[dict]:
        """The policies in force (an ISP: those that can reach its subscribers)."""
        return ops.policies(who, at)

    @v1.post("/policies", status_code=201, tags=["policies"])
    def add_policy(who: Who, body: PolicyIn, response: Response) -> dict[str, Any]:
        """Add a policy: one revision, authored by the token."""
        out = ops.add_policy(who, body)
        response.headers["Location"] = f"/v1/policies/{out['policy']['id']}"
        return out

    @v1.get("/policies/{policy_id}", tags=["policies"])
    def get_policy(who: Who, policy_id: Annotated[int, Path()]) -> dict[str, Any]:
        return ops.policy(who, policy_id)

    @v1.delete("/policies/{policy_id}", tags=["policies"])
    def revoke_policy(who: Who, policy_id: Annotated[int, Path()], why: Why = ""
                      ) -> dict[str, Any]:
        """Revoke a policy (an ISP: only one scoped to it or its subscribers)."""
        return ops.revoke(who, [policy_id], why, field="policy_id")

    @v1.post("/revocations", status_code=201, tags=["policies"])
    def revoke_policies(who: Who, body: RevocationIn) -> dict[str, Any]:
        """Revoke several policies in one revision: all of them, or none."""
        return ops.revoke(who, body.ids, body.why)

    @v1.post("/policy-sets", status_code=201, tags=["policies"])
    def load_policy_set(who: Who, body: PolicySetIn, why: Why = "") -> dict[str, Any]:
        """Load a policy set (a policy-set file's content, as JSON) in one revision."""
        return ops.load(who, body, why)

    # -- subscribers and devices --------------------------------------------------------------
    @v1.get("/subscribers", tags=["subscribers"])
    def list_subscribers(who: Who) -> list[dict]:
        return ops.subscribers(who)

    @v1.get("/subscribers/{name}", tags=["subscribers"])
    def get_subscriber(who: Who, name: str) -> dict[str, Any]:
        return ops.subscriber(who, name)

    @v1.post("/subscribers/{name}/status", tags=["subscribers"])
    def set_status(who: Who, name: str, body: StatusIn) -> dict[str, Any]:
        """Register, verify, privilege or revoke a subscriber (its admission tier)."""
        return ops.set_status(who, name, body.status, body.why)

    @v1.put("/subscribers/{name}/standing", tags=["subscribers"])
    def set_standing(who: Who, name: str, body: StandingIn) -> dict[str, Any]:
        return ops.set_standing(who, name, body.standing, body.why)

    @v1.post("/devices", status_code=201, tags=["subscribers"])
    def register_device(who: Who, body: DeviceIn) -> dict[str, Any]:
        """Admit a device (its MAC) for a subscriber."""
        return ops.register_device(who, body.subscriber, body.mac, body.why)

    @v1.delete("/devices/{mac}", tags=["subscribers"])
    def revoke_device(who: Who, mac: str, why: Why = "") -> dict[str, Any]:
        return ops.revoke_device(who, mac, why)

    # -- what happened --------------------------------------------------------------------------
    @v1.get("/history", tags=["history"])
    def history(who: Who, n: Annotated[int, Query(ge=1, le=10_000)] = 20,
                since: Annotated[int | None, Query(ge=0, description="only revisions after "
                                                                      "this one")] = None
                ) -> list[dict]:
        """The newest revisions, oldest first: who changed what, when and why."""
        return ops.history(who, n, since)

    @v1.get("/enforcement", tags=["history"])
    def enforcement_latest(who: Who) -> dict[str, Any]:
        """When each switch enforced the latest revision (an ISP: its own switches)."""
        return ops.enforcement(who, None)

    @v1.get("/enforcement/{revision}", tags=["history"])
    def enforcement(who: Who, revision: int) -> dict[str, Any]:
        """When each switch enforced a revision (an ISP: its own switches)."""
        return ops.enforcement(who, revision)

    @v1.get("/explain", tags=["history"])
    def explain(who: Who, src: str, dst: str,
                proto: Literal["tcp", "udp", "icmp"] = "tcp",
                port: Annotated[int, Query(ge=0, le=65535)] = 80,
                sni: Annotated[str | None, Query(description="the name the client sends (SNI "
                                                             "or Host)")] = None,
                at: Annotated[int | None, Query(description="as the network stood at this "
                                                            "revision")] = None
                ) -> dict[str, Any]:
        """Which policy, table and flow decide SRC -> DST (an ISP: from its subscribers)."""
        return ops.explain(who, src, dst, proto, port, sni, at)

    @v1.get("/flowlog", tags=["flow records"])
    def flowlog(who: Who, subscriber: str | None = None, service: str | None = None,
                since: Annotated[str | None, Query(description="flows active in the last "
                                                               "SECONDS (or 30m, 12h, 90d)")
                                 ] = None,
                limit: Annotated[int | None, Query(ge=1)] = None) -> dict[str, Any]:
        """Flow records kept where a log policy covers them (an ISP: its subscribers')."""
        return ops.flowlog(who, subscriber, service, since, limit)

    @v1.get("/retention", tags=["flow records"])
    def retention(who: Who) -> dict[str, Any]:
        return ops.retention()

    @v1.put("/retention", tags=["flow records"])
    def set_retention(who: Who, body: RetentionIn) -> dict[str, Any]:
        """Set how long flow records are kept (a regulator); older ones are deleted at once."""
        return ops.set_retention(who, body.seconds, body.why)

    app = FastAPI(title="sovnet policy API", version=_version(), docs_url=None,
                  redoc_url=None, openapi_url="/openapi.json", telemetry=NO_TELEMETRY,
                  description="The policy store's commands for remote operators, by role "
                              "(regulator, isp:NAME, auditor). Every write is one revision "
                              "authored api:TOKEN-NAME.")
    app.include_router(v1)
    errors.install(app)
    app.add_middleware(BodyLimit, max_bytes=max_body)
    return app
