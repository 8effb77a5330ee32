"""Bearer tokens of the OviPro sandbox: HS256 JWTs bound to agency offices (spec §2).

:class:`TokenIssuer` signs tokens with a random per-sandbox secret, so a token from another
sandbox (or one edited by hand) fails the signature check. Claims: ``iss``, ``sub`` (the
username), ``iat``, ``exp``, ``jti``, ``offices`` (the agency offices the token may see,
Q13) and ``marketplaces`` (where it may create leads, §6). Expiry is checked to the
microsecond against the issue time the issuer remembers, not the whole-second ``exp``
claim, so a token lives exactly ``expires_in`` seconds.

Example:
    >>> issuer = TokenIssuer()
    >>> token = issuer.issue("demo", offices=("o1",), marketplaces=(), lifetime_s=900)
    >>> issuer.verify(token).subject
    'demo'
    >>> TokenIssuer().verify(token)
    Traceback (most recent call last):
    ...
    leadkit.systems.ovipro.sandbox.tokens.TokenError: the token's signature is not valid
"""

from __future__ import annotations

import dataclasses
import math
import secrets
import time
import uuid
from dataclasses import dataclass

import jwt

__all__ = ["TokenClaims", "TokenError", "TokenIssuer"]

_ALGORITHM = "HS256"
_ISSUER = "ovipro-sandbox"


class TokenError(Exception):
    """The bearer token is missing, malformed, foreign or expired; the text says which."""


@dataclass(frozen=True)
class TokenClaims:
    """What a valid token grants.

    Attributes:
        subject: the account's username.
        offices: agency office ids the token may see.
        marketplaces: marketplace codes the token may create leads for.
        expires_at: epoch seconds when it stops working.
    """

    subject: str
    offices: frozenset[str]
    marketplaces: frozenset[str]
    expires_at: float


class TokenIssuer:
    """Issues and checks the sandbox's tokens.

    Args:
        secret: HS256 key; random when omitted (tokens then only work on this issuer).
    """

    def __init__(self, secret: bytes | None = None):
        self._secret = secret or secrets.token_bytes(32)
        self._expiry: dict[str, float] = {}
        # Tokens whose signature and claims were checked once: a token's text never changes
        # meaning, so later requests skip the JWT decoding (expiry is still checked each time).
        self._checked: dict[str, tuple[str, TokenClaims]] = {}
        self.issued = 0

    def issue(
        self,
        subject: str,
        *,
        offices: tuple[str, ...],
        marketplaces: tuple[str, ...],
        lifetime_s: int,
        now: float | None = None,
    ) -> str:
        """Sign a token for ``subject`` that lives ``lifetime_s`` seconds from ``now``."""
        issued_at = time.time() if now is None else now
        token_id = str(uuid.uuid4())
        expires_at = issued_at + lifetime_s
        claims = {
            "iss": _ISSUER,
            "sub": subject,
            "iat": int(issued_at),
            "exp": math.ceil(expires_at),
            "jti": token_id,
            "offices": list(offices),
            "marketplaces": list(marketplaces),
        }
        self._expiry[token_id] = expires_at
        self.issued += 1
        return jwt.encode(claims, self._secret, algorithm=_ALGORITHM)

    def verify(self, token: str, now: float | None = None) -> TokenClaims:
        """Check ``token`` and return its claims.

        Raises:
            TokenError: malformed, signed with another key, of another issuer, or expired.
        """
        checked = self._checked.get(token)
        if checked is not None:
            token_id, known = checked
            expires_at = self._expiry.get(token_id, known.expires_at)
            if (time.time() if now is None else now) >= expires_at:
                raise TokenError("the token has expired")
            return dataclasses.replace(known, expires_at=expires_at)
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[_ALGORITHM],
                issuer=_ISSUER,
                options={"verify_exp": False, "require": ["sub", "exp", "jti"]},
            )
        except jwt.InvalidSignatureError:
            raise TokenError("the token's signature is not valid") from None
        except jwt.PyJWTError:
            raise TokenError("the token is malformed") from None
        token_id = str(claims["jti"])
        known = TokenClaims(
            subject=str(claims["sub"]),
            offices=frozenset(claims.get("offices") or ()),
            marketplaces=frozenset(claims.get("marketplaces") or ()),
            expires_at=float(claims["exp"]),
        )
        if token_id in self._expiry:  # one of ours (the cache stays as small as ``issued``)
            self._checked[token] = (token_id, known)
        expires_at = self._expiry.get(token_id, known.expires_at)
        if (time.time() if now is None else now) >= expires_at:
            raise TokenError("the token has expired")
        return dataclasses.replace(known, expires_at=expires_at)

    def expire_all(self, now: float | None = None) -> None:
        """Make every token issued so far expire now (tests of mid-extract expiry)."""
        current = time.time() if now is None else now
        for token_id, expires_at in self._expiry.items():
            self._expiry[token_id] = min(expires_at, current)
