"""Who is asking: bearer JWTs carrying a user and a department.

Locally the tokens are HS256 with a shared secret (``csc token`` issues
them); in production RS256 tokens from the company's identity provider,
checked against its JWKS. Without either setting a service refuses every
request rather than trusting anyone (fail closed).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Annotated, Any

import jwt
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ValidationError

from csc_contracts import Actor, Department

DEPARTMENT_CLAIM = "department"


class AuthSettings(BaseModel):
    hs256_secret: str | None = None
    jwks_url: str | None = None
    audience: str | None = None
    issuer: str | None = None


class TokenVerifier:
    def __init__(self, settings: AuthSettings) -> None:
        self._settings = settings

    @cached_property
    def _jwks(self) -> jwt.PyJWKClient | None:
        return jwt.PyJWKClient(self._settings.jwks_url) if self._settings.jwks_url else None

    def actor(self, token: str) -> Actor:
        """The actor a token names, or ``ValueError`` saying why it is not accepted."""
        options: Any = {"require": ["exp", "sub", DEPARTMENT_CLAIM]}
        try:
            if self._jwks is not None:
                key: Any = self._jwks.get_signing_key_from_jwt(token).key
                algorithms = ["RS256"]
            elif self._settings.hs256_secret:
                key, algorithms = self._settings.hs256_secret, ["HS256"]
            else:
                raise ValueError("this service has no token verification configured")
            claims = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=self._settings.audience,
                issuer=self._settings.issuer,
                options=options,
            )
        except jwt.PyJWTError as exc:
            raise ValueError(f"invalid token: {exc}") from exc
        try:
            return Actor(user=claims["sub"], department=claims[DEPARTMENT_CLAIM])
        except ValidationError as exc:
            raise ValueError(f"invalid token claims: {exc.errors()[0]['msg']}") from exc


def issue_token(
    secret: str,
    user: str,
    department: Department,
    ttl: timedelta = timedelta(hours=12),
    now: datetime | None = None,
) -> str:
    """An HS256 token for local use and tests."""
    issued = now or datetime.now(UTC)
    claims = {"sub": user, DEPARTMENT_CLAIM: department.value, "iat": issued, "exp": issued + ttl}
    return jwt.encode(claims, secret, algorithm="HS256")


_bearer = HTTPBearer(auto_error=False, description="A JWT with `sub` and `department` claims.")


def authenticator(verifier: TokenVerifier) -> Callable[..., Actor]:
    """A FastAPI dependency giving the caller's actor; 401 when there is none."""

    def current_actor(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Actor:
        if credentials is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "missing bearer token (Authorization: Bearer <jwt>)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        try:
            actor = verifier.actor(credentials.credentials)
        except ValueError as exc:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, str(exc), headers={"WWW-Authenticate": "Bearer"}
            ) from exc
        # An Idempotency-Key is the caller's own (csc_messaging.params.request_key).
        request.state.actor = actor
        return actor

    return current_actor
