"""Access control: roles, the command gate with its audit trail, and signed remote sessions."""

from engine.auth.gate import LOCAL_ORIGIN, AuthGate, CommandOrigin
from engine.auth.keys import AuthorizedKey, KeysFileError, load_keys, parse_line, users_table
from engine.auth.roles import ROLE_NAMES, Role, authorize
from engine.auth.settings import AuthSettings

__all__ = [
    "LOCAL_ORIGIN",
    "ROLE_NAMES",
    "AuthGate",
    "AuthSettings",
    "AuthorizedKey",
    "CommandOrigin",
    "KeysFileError",
    "Role",
    "authorize",
    "load_keys",
    "parse_line",
    "users_table",
]
