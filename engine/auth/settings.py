"""Settings of access control (pydantic; nested under the desk settings as ``auth``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

RoleName = Literal["viewer", "trader", "admin"]


class AuthSettings(BaseModel):
    """Who may do what: roles per user, and how remote sessions prove who they are."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    """Enforce roles for every user. Off: the local desk is admin and unsigned attach commands
    are accepted (a single-user machine); users listed in the keys file still get their role."""
    authorized_keys: Path | None = None
    """Keys file (``user=alice,role=trader ssh-ed25519 AAAA… comment``) that is also the
    users table; default ``<data dir>/auth/authorized_keys``."""
    local_role: RoleName = "admin"
    """Role of the local desk (user ``local``) when ``enabled`` is on."""
    session_secret_file: Path | None = None
    """Secret shared by the SSH server and the daemon to sign session commands (0600);
    default ``<data dir>/auth/session.secret``, created on first use."""

    def keys_path(self, data_dir: Path) -> Path:
        """The authorized-keys file to read."""
        return self.authorized_keys or data_dir / "auth" / "authorized_keys"

    def secret_path(self, data_dir: Path) -> Path:
        """The session-secret file to read (or create)."""
        return self.session_secret_file or data_dir / "auth" / "session.secret"
