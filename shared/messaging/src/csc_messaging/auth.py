"""Who is asking: bearer JWTs carrying a user and a department.

Locally the tokens are HS256 with a shared secret (``csc token`` issues
them); in production RS256 tokens from the company's identity provider,
checked against its JWKS. Without either setting a service refuses every
request rather than trusting anyone (fail closed).

What a token must say to be accepted:

- ``exp`` and ``iat``, with ``exp - iat`` at most the configured lifetime
  (``CSC_AUTH_MAX_TOKEN_LIFETIME_HOURS``, 12 h by default): a stolen token is
  worth one shift, not years. Clocks may differ by ``CSC_AUTH_LEEWAY_SECONDS``.
- ``sub``, the user id recorded as the actor of every decision: 1 to 128 ASCII
  letters, digits and ``. _ - @ + | :``, starting with a letter or a digit
  (``li.wei``, ``li.wei@example.com``, ``auth0|5f7c``). No spaces, no control
  characters: it is printed on forms and written to logs.
- ``department``, a department a person belongs to; never ``system``, which
  marks what the services decide themselves.

And what it may say: the roles the provider gives the person, in the claim
``CSC_AUTH_ROLES_CLAIM`` names (``roles`` by default, as Entra ID and Auth0 emit it;
a dotted path such as ``realm_access.roles`` for Keycloak), a list of names or one
space-separated string. ``CSC_AUTH_MANAGER_ROLE`` (``manager``) among them makes the
person their department's manager: clause 3 leaves some decisions to Marketing's and
QC's managers, not to everyone of those departments.
"""

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Annotated, Any

import jwt
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from csc_contracts import PERSON_DEPARTMENTS, Actor, Department, PersonDepartment
from csc_messaging.permissions import Principal

DEPARTMENT_CLAIM = "department"
ROLES_CLAIM = "roles"
MANAGER_ROLE = "manager"
USER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+|:-]{0,127}")
"""A ``sub`` the services record as a user: see the module's docstring."""

_person_department: TypeAdapter[Department] = TypeAdapter(PersonDepartment)


class AuthSettings(BaseModel):
    hs256_secret: str | None = None
    jwks_url: str | None = None
    audience: str | None = None
    issuer: str | None = None
    max_token_lifetime: timedelta = Field(default=timedelta(hours=12), gt=timedelta(0))
    leeway: timedelta = Field(default=timedelta(seconds=60), ge=timedelta(0))
    roles_claim: str = Field(default=ROLES_CLAIM, min_length=1)
    manager_role: str = Field(default=MANAGER_ROLE, min_length=1)


def check_user_id(user: object) -> str:
    """``user`` when it is a user id the services record (``USER_ID``), else ``ValueError``."""
    if not isinstance(user, str) or USER_ID.fullmatch(user) is None:
        raise ValueError(
            f"sub {user!r} is not a user id: 1 to 128 ASCII letters, digits and . _ - @ + | :, "
            "starting with a letter or a digit"
        )
    return user


def check_person_department(department: object) -> Department:
    """``department`` as a ``Department`` a person belongs to, else ``ValueError``."""
    try:
        return _person_department.validate_python(department)
    except ValidationError:
        shown = department.value if isinstance(department, Department) else department
        names = ", ".join(d.value for d in PERSON_DEPARTMENTS)
        raise ValueError(
            f"department {shown!r} is not one a person belongs to ({names}); "
            "'system' is the services' own"
        ) from None


def roles(claims: dict[str, Any], claim: str) -> frozenset[str]:
    """The role names ``claim`` (a dotted path into the claims) gives, none when it is absent;
    ``ValueError`` when it is there but neither a list of names nor a space-separated string."""
    value: Any = claims
    for part in claim.split("."):
        if not isinstance(value, dict) or part not in value:
            return frozenset()
        value = value[part]
    if isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return frozenset(value)
    raise ValueError(f"{claim} is neither a list of role names nor a space-separated string")


def _hours(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours:,.0f} h" if hours >= 1 else f"{span.total_seconds():,.0f} s"


def signing_key(jwks: jwt.PyJWKClient, token: str) -> Any:
    """The key of the provider's JWKS that signed ``token``: the one its ``kid`` names, or,
    for a token without a ``kid`` (RFC 7515 makes it optional), the set's only signing key."""
    if jwt.get_unverified_header(token).get("kid") is not None:
        return jwks.get_signing_key_from_jwt(token).key
    keys = jwks.get_signing_keys()
    if len(keys) != 1:
        raise jwt.InvalidTokenError(
            f"the token names no key (kid) and the provider's JWKS has {len(keys)} signing keys"
        )
    return keys[0].key


class TokenVerifier:
    def __init__(self, settings: AuthSettings) -> None:
        self._settings = settings

    @cached_property
    def _jwks(self) -> jwt.PyJWKClient | None:
        return jwt.PyJWKClient(self._settings.jwks_url) if self._settings.jwks_url else None

    def actor(self, token: str) -> Actor:
        """The actor a token names, or ``ValueError`` saying why it is not accepted."""
        return self.principal(token).actor

    def principal(self, token: str) -> Principal:
        """Who a token names and in what capacity, or ``ValueError`` saying why it is not
        accepted."""
        options: Any = {"require": ["exp", "iat", "sub", DEPARTMENT_CLAIM]}
        try:
            if self._jwks is not None:
                key: Any = signing_key(self._jwks, token)
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
                leeway=self._settings.leeway,
            )
        except jwt.PyJWTError as exc:
            raise ValueError(f"invalid token: {exc}") from exc
        # PyJWT checked that exp and iat are numbers, exp is not past and iat not to come.
        lifetime = timedelta(seconds=float(claims["exp"]) - float(claims["iat"]))
        if lifetime > self._settings.max_token_lifetime:
            raise ValueError(
                f"invalid token: valid for {_hours(lifetime)} (exp - iat); tokens may be valid "
                f"for at most {_hours(self._settings.max_token_lifetime)} "
                "(CSC_AUTH_MAX_TOKEN_LIFETIME_HOURS)"
            )
        try:
            user = check_user_id(claims["sub"])
            department = check_person_department(claims[DEPARTMENT_CLAIM])
            given = roles(claims, self._settings.roles_claim)
        except ValueError as exc:
            raise ValueError(f"invalid token claims: {exc}") from exc
        return Principal(
            Actor(user=user, department=department), self._settings.manager_role in given
        )


def issue_token(
    secret: str,
    user: str,
    department: Department,
    ttl: timedelta = timedelta(hours=12),
    now: datetime | None = None,
    *,
    manager: bool = False,
) -> str:
    """An HS256 token for local use and tests, for a valid user id and a person's department;
    ``manager`` gives the default roles claim the default manager role."""
    check_user_id(user)
    check_person_department(department)
    issued = now or datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": user,
        DEPARTMENT_CLAIM: department.value,
        "iat": issued,
        "exp": issued + ttl,
    }
    if manager:
        claims[ROLES_CLAIM] = [MANAGER_ROLE]
    return jwt.encode(claims, secret, algorithm="HS256")


_bearer = HTTPBearer(auto_error=False, description="A JWT with `sub` and `department` claims.")


def principal_authenticator(verifier: TokenVerifier) -> Callable[..., Principal]:
    """A FastAPI dependency giving the caller and their capacity; 401 when there is none."""

    def current_principal(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        if credentials is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "missing bearer token (Authorization: Bearer <jwt>)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        try:
            principal = verifier.principal(credentials.credentials)
        except ValueError as exc:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, str(exc), headers={"WWW-Authenticate": "Bearer"}
            ) from exc
        # An Idempotency-Key is the caller's own (csc_messaging.params.request_key).
        request.state.actor = principal.actor
        return principal

    return current_principal


def actor_of(current_principal: Callable[..., Principal]) -> Callable[..., Actor]:
    """A FastAPI dependency giving the actor of ``current_principal``'s caller. FastAPI reads
    the token once a request, however many of a route's dependencies ask for the two."""

    # FastAPI reads this annotation at run time, where ``current_principal`` is this
    # closure's: so this module's annotations are not strings (no ``from __future__``).
    def current_actor(principal: Annotated[Principal, Depends(current_principal)]) -> Actor:
        return principal.actor

    return current_actor


def authenticator(verifier: TokenVerifier) -> Callable[..., Actor]:
    """A FastAPI dependency giving the caller's actor; 401 when there is none."""
    return actor_of(principal_authenticator(verifier))
