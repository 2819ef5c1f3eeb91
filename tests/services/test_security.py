"""Access tokens: verified once per token string, never past their expiry, never for another string."""

from __future__ import annotations

import time

import pytest
from cryptography.fernet import Fernet

from services.errors import InvalidToken, TokenExpired
from services.security import Crypto


def _crypto(ttl: int) -> Crypto:
    return Crypto("a-test-secret-key-that-is-long-enough-0123456789", Fernet.generate_key().decode(), ttl)


def test_a_remembered_token_still_expires_and_a_changed_one_is_refused() -> None:
    crypto = _crypto(1)
    token, expires = crypto.issue_access(7, 3)
    first = crypto.read_access(token)
    assert (first.user_id, first.account_id) == (7, 3) and crypto.read_access(token) == first
    # Same header and claims, another signature: a different string, verified (and refused) in full.
    head, _, signature = token.rpartition(".")
    forged = head + "." + ("A" if signature[0] != "A" else "B") + signature[1:]
    with pytest.raises(InvalidToken):
        crypto.read_access(forged)
    time.sleep(max(0.0, expires.timestamp() - time.time()) + 0.05)
    with pytest.raises(TokenExpired):
        crypto.read_access(token)
