"""The bearer token of a request -> who it is (an Identity), within its rate limit.

    Authorization: Bearer sovnet_...     401 when absent or not in the tokens file
                                         429 (Retry-After) when the token is over its rate
                                         403 when its role names an ISP the store lacks
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi.security import HTTPAuthorizationCredentials

from sovnet.api.errors import ApiError, unauthorized
from sovnet.api.limits import RateLimiter, retry_after
from sovnet.api.roles import Forbidden, Identity, Role, RoleError
from sovnet.api.tokens import TokenCache, TokenError
from sovnet.model.topology import Topology

log = logging.getLogger("sovnet.api")


class Authenticator:
    def __init__(self, tokens: TokenCache, limiter: RateLimiter | None,
                 topology: Callable[[], Topology | None]):
        self.tokens = tokens
        self.limiter = limiter
        self.topology = topology

    def identify(self, credentials: HTTPAuthorizationCredentials | None) -> Identity:
        if credentials is None or not credentials.credentials:
            raise unauthorized("no bearer token (expected a header Authorization: Bearer "
                               "TOKEN, with a token from `sovnet api token add`)", invalid=False)
        try:
            entry = self.tokens.find(credentials.credentials)
        except TokenError as e:
            # The operator's file is broken: say so in the log, not to a client; refuse all.
            log.error("cannot check tokens: %s", e)
            raise ApiError(503, "the server cannot check tokens now (its log says why)") \
                from None
        if entry is None:
            raise unauthorized("invalid bearer token (expected a token that `sovnet api token "
                               "add` printed and that has not been revoked)", invalid=True)
        if self.limiter is not None:
            wait = self.limiter.take(entry.name)
            if wait > 0:
                raise ApiError(429, f"too many requests with token {entry.name!r} (expected at "
                                    f"most {self.limiter.label}; retry in {retry_after(wait)} s)",
                               headers={"Retry-After": retry_after(wait)})
        role = Role.parse(entry.role)
        try:
            role.check_known(self.topology())
        except RoleError as e:
            raise Forbidden(f"token {entry.name!r}: {e}") from None
        return Identity(entry.name, role)
