"""A trust anchor outside the store: each registered model's fingerprint is signed with a key
the tracking store never holds, so whoever can write the store cannot swap the model's files
and rewrite their fingerprint to match (the logged model is a pickle: loading it runs code).

The key is CHURN_MODEL_KEY from the environment (what a team gives its training and scoring
machines) or else a key file beside the project ([tracking] key_file, default
.churn/model.key), created with owner-only permissions by the first training. The signature
is HMAC-SHA256 over the model's name and the digest of its files, kept as a tag on the
version and written with it in one call (the version's number is the store's to give, so it
is not signed); loading verifies it against the files as downloaded, before anything is
unpickled."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from features.errors import Problem, Refusal

KEY_ENV = "CHURN_MODEL_KEY"
SIGNATURE_TAG = "model_signature"

_key_file: Path | None = None


def use_key_file(path: Path | str) -> None:
    """Where the key lives when CHURN_MODEL_KEY is not set (set when the store is opened)."""
    global _key_file
    _key_file = Path(path)


def model_key(*, create: bool) -> bytes:
    """The signing key: the environment's, else the key file's (made when `create`, for a
    training run). Refused with one line when there is none to verify with."""
    given = os.environ.get(KEY_ENV)
    if given:
        return given.encode()
    path = _key_file or Path(".churn/model.key")
    if path.exists():
        return path.read_bytes().strip()
    if not create:
        raise Refusal(
            [
                Problem(
                    str(path),
                    f"no model key: set {KEY_ENV} to the key the training machine signed with, "
                    "or copy its key file here (models are loaded only once their signature "
                    "checks)",
                )
            ]
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    return path.read_bytes().strip()


def signature(name: str, digest: str, key: bytes) -> str:
    """The HMAC of a registered model's files (their fingerprint) under its name."""
    return _hmac(f"{name}\0{digest}", key)


def verified(name: str, version: str, digest: str, signed: str | None, key: bytes) -> bool:
    """Whether `signed` is the key's signature of these files: over name and fingerprint, or,
    for versions registered by earlier releases, over name, version and fingerprint."""
    if signed is None:
        return False
    earlier = _hmac(f"{name}\0{version}\0{digest}", key)
    return hmac.compare_digest(signed, signature(name, digest, key)) or hmac.compare_digest(
        signed, earlier
    )


def _hmac(message: str, key: bytes) -> str:
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()
