"""The authorized-keys file: the SSH keys that may log in, each with its user and role.

One key per line, options first, as in OpenSSH::

    user=alice,role=trader ssh-ed25519 AAAAC3Nz… alice@laptop
    role=viewer ssh-ed25519 AAAAC3Nz… bob@desk

``user`` defaults to the comment up to ``@``. Blank lines and ``#`` comments are skipped;
a bad line is an error naming its number (fail closed: no half-read users table).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.auth.roles import ROLE_NAMES

KEY_TYPES = (
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
)


class KeysFileError(ValueError):
    """The authorized-keys file cannot be used; the message names the line."""


@dataclass(frozen=True, slots=True)
class AuthorizedKey:
    """One line of the file."""

    user: str
    role: str
    key_type: str
    key_data: str
    comment: str

    @property
    def openssh(self) -> str:
        """The public key as OpenSSH writes it (``type base64``)."""
        return f"{self.key_type} {self.key_data}"


def parse_line(line: str, number: int = 1) -> AuthorizedKey | None:
    """One entry, ``None`` for a blank or comment line; :class:`KeysFileError` if malformed."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    parts = text.split()
    if len(parts) < 3 or parts[0] in KEY_TYPES:
        raise KeysFileError(f"authorized keys line {number}: needs 'role=… <type> <key>'")
    options = dict(
        item.split("=", 1) if "=" in item else (item, "") for item in parts[0].split(",")
    )
    key_type, key_data, comment = parts[1], parts[2], " ".join(parts[3:])
    if key_type not in KEY_TYPES:
        raise KeysFileError(f"authorized keys line {number}: unknown key type {key_type!r}")
    role = options.get("role", "")
    if role not in ROLE_NAMES:
        raise KeysFileError(f"authorized keys line {number}: role must be one of {ROLE_NAMES}")
    user = options.get("user") or comment.split("@", 1)[0]
    if not user or not user.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise KeysFileError(f"authorized keys line {number}: needs user=<name> or a comment")
    return AuthorizedKey(user, role, key_type, key_data, comment)


def load_keys(path: Path) -> tuple[AuthorizedKey, ...]:
    """Every entry of the file; an absent file is an empty table."""
    if not path.is_file():
        return ()
    entries = (parse_line(line, n) for n, line in enumerate(path.read_text().splitlines(), 1))
    keys = tuple(entry for entry in entries if entry is not None)
    roles: dict[str, str] = {}
    for key in keys:
        if roles.setdefault(key.user, key.role) != key.role:
            raise KeysFileError(f"authorized keys: user {key.user} has two different roles")
    return keys


def users_table(keys: tuple[AuthorizedKey, ...]) -> dict[str, str]:
    """User name → role."""
    return {key.user: key.role for key in keys}
