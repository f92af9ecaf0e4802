"""Password hashing with argon2id; old or weaker hashes are upgraded on the next login."""

from __future__ import annotations

#: The one hasher, made (and argon2 imported) on the first sign-in or password change.
_hasher = None


def _the_hasher():
    """Return the hasher; argon2-cffi's defaults follow RFC 9106's second recommended
    profile (argon2id, 64 MiB)."""
    global _hasher
    if _hasher is None:
        from argon2 import PasswordHasher

        _hasher = PasswordHasher()
    return _hasher


def hash_password(password: str) -> str:
    """Return the argon2id hash of ``password``."""
    return _the_hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Return whether ``password`` matches ``password_hash`` (False for no hash)."""
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    if not password_hash:
        return False
    try:
        return _the_hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Return whether the hash was made with weaker parameters than today's."""
    from argon2.exceptions import InvalidHashError

    try:
        return _the_hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return True
