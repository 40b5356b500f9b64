"""Connector credentials at rest: Fernet (AES-128-CBC with HMAC-SHA256), because the hub must
read them back to call the source. The key comes from ``HUB_CONNECTOR_SECRET_KEY`` or a key
file in the data folder that every instance shares."""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from app.config import Settings
from app.security.keyfiles import read_or_create

KEY_FILE = "connector-secrets.key"


def load_fernet(settings: Settings) -> Fernet:
    if settings.connector_secret_key is not None:
        return Fernet(settings.connector_secret_key.get_secret_value().encode())
    return Fernet(read_or_create(settings.data_dir / KEY_FILE, Fernet.generate_key).strip())


class SecretBox:
    """Encrypts a small dict of secrets into one token, and back."""

    def __init__(self, fernet: Fernet) -> None:
        self._fernet = fernet

    def seal(self, secrets: dict[str, str]) -> str | None:
        if not secrets:
            return None
        return self._fernet.encrypt(json.dumps(secrets).encode()).decode()

    def open(self, token: str | None) -> dict[str, Any]:
        if not token:
            return {}
        try:
            opened: dict[str, Any] = json.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken as exc:
            raise ValueError("connector secret cannot be decrypted with this key") from exc
        return opened
