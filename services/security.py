"""Passwords (Argon2id), JWTs (HS256 pinned), opaque tokens and secrets at rest (Fernet)."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import secrets
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet
from cryptography.fernet import InvalidToken as FernetInvalidToken

from services.errors import InvalidToken, TokenExpired, ValidationFailed

JWT_ALGORITHM = "HS256"
_hasher = PasswordHasher()  # argon2-cffi's defaults: Argon2id, RFC 9106's low-memory profile
# A hash takes 64 MiB and ~0.1-0.2 s of CPU, and argon2 releases the GIL: it runs on these threads
# so the event loop serves other requests meanwhile. Two at a time bound the memory a burst of
# logins takes; the rest wait their turn.
_hashing = ThreadPoolExecutor(max_workers=2, thread_name_prefix="password-hash")


def set_password_hasher(hasher: PasswordHasher) -> None:
    """Hash with other parameters from now on. The test suite uses argon2's cheapest profile:
    at full cost, hashing would be most of its time. A stored hash names its own parameters, so
    verifying works whatever hashed it."""
    global _hasher
    _hasher = hasher
    _dummy_hash.cache_clear()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the email is unknown, so that answer costs the same as a wrong
    password. Made on first use, not at import: hashing is slow on purpose."""
    return _hasher.hash("not-a-real-password-but-the-same-cost")


def utcnow() -> datetime:
    return datetime.now(UTC)


async def hash_password(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_hashing, _hasher.hash, password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` is the one hashed; against an unknown user (None) the same work is
    done and the answer is False."""
    return await asyncio.get_running_loop().run_in_executor(_hashing, _verify, password_hash, password)


def check_password_rules(password: str, email: str | None = None) -> None:
    """Raise `ValidationFailed` on a password the contract refuses."""
    problems = []
    if len(password) < 8:
        problems.append("Must be at least 8 characters long.")
    if password.isdigit():
        problems.append("Must not be all digits.")
    if email and password.strip().lower() == email.strip().lower():
        problems.append("Must not be the same as the email.")
    if problems:
        raise ValidationFailed("The password is too weak.", errors={"password": problems})


def new_token(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """SHA-256 of a high-entropy token: enough for lookup, and what is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


@dataclass(frozen=True)
class AccessClaims:
    user_id: int
    account_id: int
    jti: str
    expires_at: datetime


VERIFIED_TOKENS_MAX = 10_000


class Crypto:
    """The server's keys: signs JWTs and encrypts secrets at rest."""

    def __init__(self, secret_key: str, encryption_key: str, access_ttl: int) -> None:
        self._secret = secret_key
        self._fernet = Fernet(encryption_key.encode())
        self.access_ttl = access_ttl
        # Access tokens already verified, with their expiry (Unix seconds): a token is checked
        # on every request (twice: rate limit and auth), and verifying it costs ~70 µs. Only
        # the exact string that passed is remembered, and only until it expires; revocation
        # (logout) is the deny-list, still read on every request.
        self._verified: dict[str, tuple[int, AccessClaims]] = {}

    def issue_access(self, user_id: int, account_id: int) -> tuple[str, datetime]:
        now = utcnow()
        expires = now + timedelta(seconds=self.access_ttl)
        claims = {
            "sub": str(user_id),
            "acc": account_id,
            "typ": "access",
            "jti": uuid.uuid4().hex,
            "iat": int(now.timestamp()),
            "exp": int(expires.timestamp()),
        }
        return jwt.encode(claims, self._secret, algorithm=JWT_ALGORITHM), expires

    def read_access(self, token: str) -> AccessClaims:
        """Verify signature, algorithm and expiry; raise `TokenExpired`/`InvalidToken`."""
        known = self._verified.get(token)
        if known is not None and time.time() < known[0]:  # PyJWT: expired once exp <= now
            return known[1]
        claims = self._verify_access(token)
        if len(self._verified) >= VERIFIED_TOKENS_MAX:
            self._verified.clear()  # crude but bounded; a miss only costs a verification
        self._verified[token] = (int(claims.expires_at.timestamp()), claims)
        return claims

    def _verify_access(self, token: str) -> AccessClaims:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._secret,
                algorithms=[JWT_ALGORITHM],
                options={"require": ["sub", "acc", "typ", "jti", "exp", "iat"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenExpired() from None
        except jwt.PyJWTError:
            raise InvalidToken() from None
        if claims.get("typ") != "access" or not str(claims["sub"]).isdigit():
            raise InvalidToken()
        return AccessClaims(
            user_id=int(claims["sub"]),
            account_id=int(claims["acc"]),
            jti=str(claims["jti"]),
            expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
        )

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except FernetInvalidToken:
            raise ValueError("secret cannot be decrypted with the configured key") from None
