"""What a token must say to be accepted: a bounded lifetime, a user id, a person's department."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from csc_contracts import PERSON_DEPARTMENTS, Actor, Department
from csc_messaging.auth import AuthSettings, TokenVerifier, issue_token
from csc_messaging.settings import ServiceSettings

SECRET = "unit-test-secret-of-at-least-32-bytes"
NOW = datetime.now(UTC)


@pytest.fixture(autouse=True)
def now() -> None:
    """Each test's tokens are issued at its start: the leeway is counted in seconds."""
    global NOW
    NOW = datetime.now(UTC).replace(microsecond=0)


def forge(**claims: Any) -> str:
    """A token signed with the right secret saying whatever ``claims`` say (None: left out)."""
    body = {
        "sub": "li.wei",
        "department": "marketing",
        "iat": NOW,
        "exp": NOW + timedelta(hours=1),
        **claims,
    }
    return jwt.encode({k: v for k, v in body.items() if v is not None}, SECRET, algorithm="HS256")


def verify(token: str, **settings: Any) -> Actor:
    return TokenVerifier(AuthSettings(hs256_secret=SECRET, **settings)).actor(token)


def refused(token: str, *words: str, **settings: Any) -> str:
    with pytest.raises(ValueError) as raised:
        verify(token, **settings)
    message = str(raised.value)
    for word in words:
        assert word in message, message
    return message


def test_a_token_names_its_user_and_department() -> None:
    assert verify(forge()) == Actor(user="li.wei", department=Department.MARKETING)
    for department in PERSON_DEPARTMENTS:
        assert verify(issue_token(SECRET, "wang.fang", department)).department is department


@pytest.mark.parametrize(
    "user", ["li.wei", "li.wei@example.com", "auth0|5f7c1e", "00u1ab2CD", "li_wei-2+qc:x", "x"]
)
def test_user_ids_of_people_and_identity_providers_are_accepted(user: str) -> None:
    assert verify(forge(sub=user)).user == user


@pytest.mark.parametrize(
    "user",
    [
        "li.wei\n",  # a line break forges log lines
        "li\x00wei",
        "li\x1b[31mwei",  # a terminal escape
        "li\u202ewei",  # right-to-left override: prints another name
        "li\u200bwei",  # zero-width space
        "li wei",
        " li.wei",
        ".li.wei",
        "",
        "l" * 129,
        "李伟",  # not ASCII: look-alike letters would name another person
    ],
)
def test_a_sub_that_is_not_a_user_id_is_refused(user: str) -> None:
    refused(forge(sub=user), "sub", "not a user id")
    with pytest.raises(ValueError, match="not a user id"):
        issue_token(SECRET, user, Department.MARKETING)


def test_a_sub_that_is_not_a_string_is_refused() -> None:
    # PyJWT refuses a non-string sub itself.
    refused(forge(sub=["li.wei"]), "invalid token")


def test_no_token_speaks_for_the_system() -> None:
    refused(forge(department="system"), "department 'system'", "services' own")
    refused(forge(department="ceo"), "department 'ceo'")
    refused(forge(department=None), "department")
    with pytest.raises(ValueError, match="services' own"):
        issue_token(SECRET, "sla", Department.SYSTEM)


def test_a_token_must_expire_and_say_when_it_was_issued() -> None:
    refused(forge(exp=None), '"exp"')
    refused(forge(iat=None), '"iat"')
    refused(forge(exp=NOW - timedelta(minutes=2)), "expired")
    refused(forge(iat="yesterday"), "iat")


def test_a_token_valid_for_31_years_is_refused() -> None:
    token = forge(exp=NOW + timedelta(days=31 * 365))
    refused(token, "valid for 271,560 h", "at most 12 h", "CSC_AUTH_MAX_TOKEN_LIFETIME_HOURS")
    # Backdating iat does not stretch it either: the lifetime is exp - iat.
    refused(forge(iat=NOW - timedelta(days=365), exp=NOW + timedelta(hours=1)), "at most 12 h")


def test_the_lifetime_limit_is_12_hours_by_default_and_configurable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert verify(forge(exp=NOW + timedelta(hours=12))).user == "li.wei"
    refused(forge(exp=NOW + timedelta(hours=12, seconds=1)), "at most 12 h")
    assert ServiceSettings().auth.max_token_lifetime == timedelta(hours=12)

    monkeypatch.setenv("CSC_AUTH_MAX_TOKEN_LIFETIME_HOURS", "1")
    one_hour = ServiceSettings().auth
    assert one_hour.max_token_lifetime == timedelta(hours=1)
    two_hours = forge(exp=NOW + timedelta(hours=2))
    refused(two_hours, "at most 1 h", max_token_lifetime=one_hour.max_token_lifetime)
    monkeypatch.setenv("CSC_AUTH_MAX_TOKEN_LIFETIME_HOURS", "0")
    with pytest.raises(ValueError, match="greater than 0"):
        ServiceSettings()


def test_clocks_may_differ_by_the_leeway_only() -> None:
    # The issuer's clock 30 s ahead of ours: within the 60 s leeway.
    ahead = forge(iat=NOW + timedelta(seconds=30), exp=NOW + timedelta(hours=1))
    assert verify(ahead).user == "li.wei"
    refused(ahead, "not yet valid", leeway=timedelta(0))
    refused(forge(iat=NOW + timedelta(minutes=10), exp=NOW + timedelta(hours=1)), "not yet valid")


def manager(token: str, **settings: Any) -> bool:
    return TokenVerifier(AuthSettings(hs256_secret=SECRET, **settings)).principal(token).manager


def test_3_the_manager_role_in_the_roles_claim_makes_a_departments_manager() -> None:
    assert manager(issue_token(SECRET, "xu.gang", Department.QUALITY, manager=True))
    assert not manager(issue_token(SECRET, "wang.fang", Department.QUALITY))
    assert not manager(forge())  # no roles claim: an ordinary member of the department
    assert manager(forge(roles=["auditor-liaison", "manager"]))
    assert manager(forge(roles="reader manager"))  # as a space-separated scope-like string
    assert not manager(forge(roles=["managers", "Manager"]))  # names are compared exactly
    # Each provider says it its own way: the claim and the role are settings.
    keycloak = forge(realm_access={"roles": ["qc-manager"]})
    assert manager(keycloak, roles_claim="realm_access.roles", manager_role="qc-manager")
    assert not manager(keycloak)
    assert not manager(forge(realm_access=["x"]), roles_claim="realm_access.roles")


def test_a_roles_claim_that_is_not_role_names_is_refused() -> None:
    refused(forge(roles=[1, 2]), "invalid token claims", "roles", "list of role names")
    refused(forge(roles={"manager": True}), "roles")


def test_the_roles_claim_and_manager_role_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CSC_AUTH_ROLES_CLAIM", "groups")
    monkeypatch.setenv("CSC_AUTH_MANAGER_ROLE", "csc-manager")
    auth = ServiceSettings(auth_hs256_secret=SECRET).auth
    assert (auth.roles_claim, auth.manager_role) == ("groups", "csc-manager")
