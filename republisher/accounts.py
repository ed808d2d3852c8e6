"""Editors' accounts: argon2id password hashes, logins with a lockout kept in SQLite, and sessions.

Accounts are made from the command line only. A login is refused before its password is hashed when
the account, or the client address, has failed too often within the lockout window (see README); the
attempt is written before the hash is computed, so logins racing in other processes count it.
"""

import hashlib
import secrets
import time
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from . import storage
from .errors import AccountError, LoginFailedError, LoginLockedError, NotFoundError

ROLES = ("editor", "admin")
# OWASP's password storage guidance for argon2id: at least 19 MiB, 2 passes, 1 lane
HASH_TIME_COST = 2
HASH_MEMORY_KIB = 19 * 1024
HASH_PARALLELISM = 1
MIN_PASSWORD_CHARS = 12
# hashing is the costly part of a login; a cap keeps one request from asking for megabytes of it
MAX_PASSWORD_CHARS = 1024
MAX_NAME_CHARS = 64
LOGIN_FAILED = "The name or the password is not right."
LOGIN_LOCKED = ("Too many failed logins. Logins are refused for a while; try again later, "
                "or ask an administrator.")


@dataclass(frozen=True)
class LoginRules:
    """How many failures within how many seconds lock an account or a client address out."""

    window_seconds: int = 900
    max_failures: int = 20
    max_failures_per_address: int = 100

    @classmethod
    def from_config(cls, config) -> "LoginRules":
        """The rules the app's settings give."""
        return cls(config["LOGIN_LOCKOUT_SECONDS"], config["LOGIN_MAX_FAILURES"],
                   config["LOGIN_MAX_FAILURES_PER_ADDRESS"])


@lru_cache(maxsize=1)
def hasher() -> PasswordHasher:
    """The argon2id hasher with the parameters set here (its defaults may change with the library)."""
    return PasswordHasher(time_cost=HASH_TIME_COST, memory_cost=HASH_MEMORY_KIB, parallelism=HASH_PARALLELISM)


@lru_cache(maxsize=1)
def unknown_user_hash() -> str:
    """A hash to verify against when the name is unknown, so that the answer takes as long either way."""
    return hasher().hash(secrets.token_hex(16))


# ---------------------------------------------------------------- accounts


def check_name(name: str) -> str:
    """A usable account name: printable, without spaces, at most 64 characters."""
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME_CHARS:
        raise AccountError(f"a user name has 1 to {MAX_NAME_CHARS} characters")
    if any(char.isspace() or unicodedata.category(char)[0] == "C" for char in name):
        raise AccountError("a user name has no spaces or control characters")
    return name


def check_password(password: str) -> str:
    """A password long enough to resist guessing, and short enough to hash."""
    if len(password or "") < MIN_PASSWORD_CHARS:
        raise AccountError(f"a password needs at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise AccountError(f"a password has at most {MAX_PASSWORD_CHARS} characters")
    return password


def check_role(role: str) -> str:
    """editor or admin."""
    if role not in ROLES:
        raise AccountError(f"a role is one of {', '.join(ROLES)}, not {role!r}")
    return role


def add_user(db, name: str, role: str, password: str) -> dict:
    """Create an account with its password hashed."""
    name, role = check_name(name), check_role(role)
    try:
        return storage.add_user(db, name, role, hasher().hash(check_password(password)))
    except ValueError as exc:
        raise AccountError(str(exc)) from exc


def require_user(db, name: str) -> dict:
    """An account by name, or NotFoundError."""
    user = storage.find_user(db, name)
    if user is None:
        raise NotFoundError(f"no user named {name}")
    return user


def set_password(db, name: str, password: str) -> dict:
    """A new password; every session of the account ends."""
    user = require_user(db, name)
    new_hash = hasher().hash(check_password(password))
    return storage.update_user(db, user["id"], {"password_hash": new_hash, "password_changed_at": storage.utcnow()},
                               end_sessions=True)


def disable_user(db, name: str) -> dict:
    """An account that can no longer log in; its sessions end at once."""
    user = require_user(db, name)
    return storage.update_user(db, user["id"], {"disabled": 1}, end_sessions=True)


def enable_user(db, name: str) -> dict:
    """A disabled account may log in again."""
    user = require_user(db, name)
    return storage.update_user(db, user["id"], {"disabled": 0})


# ---------------------------------------------------------------- logins


def lockout_reason(rules: LoginRules, now: float):
    """A function of the latest failures (of the account, of the address) that names a lockout in force."""
    def reason(account_failures: list[float], address_failures: list[float]) -> str | None:
        """'account' or 'address' when that one is locked out now, else None."""
        if locked(account_failures, rules.max_failures, rules.window_seconds, now):
            return "account"
        if locked(address_failures, rules.max_failures_per_address, rules.window_seconds, now):
            return "address"
        return None
    return reason


def locked(failures: list[float], limit: int, window: float, now: float) -> bool:
    """Whether `limit` failures (newest first) fell within one window that has not passed since the last."""
    if len(failures) < limit:
        return False
    newest, oldest = failures[0], failures[limit - 1]
    return newest - oldest <= window and now - newest < window


def account_key(name: str) -> str:
    """How attempts on a name are counted: any letter case is the same account."""
    return (name or "").strip().casefold()[:MAX_NAME_CHARS * 4]


def login(db, name: str, password: str, address: str, rules: LoginRules) -> dict:
    """The account when the name and password are right; LoginLockedError before any hashing when locked out."""
    now = time.time()
    attempt = storage.begin_login_attempt(db, account_key(name), address or "unknown", now,
                                          (rules.max_failures, rules.max_failures_per_address),
                                          lockout_reason(rules, now))
    if attempt is None:
        raise LoginLockedError(LOGIN_LOCKED)
    user = storage.find_user(db, (name or "").strip()) if len(password or "") <= MAX_PASSWORD_CHARS else None
    if not verified(user, password or ""):
        storage.finish_login_attempt(db, attempt, succeeded=False)
        raise LoginFailedError(LOGIN_FAILED)
    storage.finish_login_attempt(db, attempt, succeeded=True)
    if hasher().check_needs_rehash(user["password_hash"]):
        # the parameters above have grown since this hash was made: store it anew while the password is known
        storage.update_user(db, user["id"], {"password_hash": hasher().hash(password)})
    return user


def verified(user: dict | None, password: str) -> bool:
    """Whether the password matches an enabled account's hash (an unknown name costs one hash too)."""
    try:
        hasher().verify(user["password_hash"] if user else unknown_user_hash(), password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return bool(user) and not user["disabled"]


# ---------------------------------------------------------------- sessions


def token_digest(token: str) -> str:
    """What the database keeps of a session token: a copy of the database opens no session."""
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(db, user: dict, address: str) -> str:
    """A new session for a user who has just logged in; the token goes in the cookie, its digest in the database."""
    token = secrets.token_urlsafe(32)
    storage.record_login(db, user["id"], token_digest(token), address or "unknown", time.time())
    return token


def session_user(db, token: str | None, idle_seconds: int) -> dict | None:
    """The account of a live session (and the session kept alive), or None when it ended or idled out."""
    if not token:
        return None
    digest = token_digest(token)
    user = storage.session_user(db, digest)
    if user is None:
        return None
    now = time.time()
    if now - user["last_seen_at"] > idle_seconds:
        storage.end_session(db, digest)
        return None
    # one write a minute at most (less for short expiries): every page would otherwise write
    if now - user["last_seen_at"] > min(60, idle_seconds / 10):
        storage.touch_session(db, digest, now)
    return user


def close_session(db, token: str | None) -> None:
    """Log out: the session can no longer be used, even with a copy of its cookie."""
    if token:
        storage.end_session(db, token_digest(token))
