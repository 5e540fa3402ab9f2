"""The GitHub App credentials that /setup stored: `<data_dir>/github-app.json`, mode 0600.

Written once by the setup callback (atomically, never world-readable even briefly, never over an
existing file) and read by settings loading in every process. Secrets stay SecretStr here so a
repr, a log line or an error message cannot show them.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

CREDENTIALS_FILENAME = "github-app.json"
SETUP_TOKEN_FILENAME = "setup-token"  # noqa: S105 (a file name, not a password)
FILE_MODE = 0o600
DIRECTORY_MODE = 0o700


class CredentialsError(Exception):
    """The stored credentials cannot be used; the message names the file (not its absolute
    path: /status shows it to anyone) and never its content."""


class CredentialsExist(CredentialsError):
    """A configuration is stored already: setup never overwrites it."""


class AppCredentials(BaseModel):
    """What `POST /app-manifests/{code}/conversions` returned, as the bot keeps it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    app_id: int
    slug: str
    name: str
    html_url: str
    owner: str
    client_id: str
    client_secret: SecretStr
    webhook_secret: SecretStr
    pem: SecretStr
    created_at: str

    def to_json(self) -> bytes:
        data: dict[str, Any] = self.model_dump()
        for field in ("client_secret", "webhook_secret", "pem"):
            data[field] = getattr(self, field).get_secret_value()
        return json.dumps(data, indent=1, sort_keys=True).encode() + b"\n"


_named = f"{CREDENTIALS_FILENAME} in the data dir"


def credentials_path(data_dir: Path) -> Path:
    return data_dir / CREDENTIALS_FILENAME


def reset_hint() -> str:
    """How an operator starts over: said wherever setup refuses to overwrite. It names the file
    but not the data dir's absolute path, which is nothing a visitor of a page needs to know."""
    return (
        f"to set up again, stop pullpolicy, delete {CREDENTIALS_FILENAME} from its data directory "
        "(and the App on GitHub if it is no longer wanted), then start pullpolicy and open /setup"
    )


def ensure_private_dir(data_dir: Path) -> None:
    """Create the data dir 0700 (only its owner may list or enter it, from its first moment),
    or tighten an existing one; call before anything else puts a file there."""
    data_dir.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
    # The files in it are 0600 whatever the directory; tightening one we do not own may fail.
    with contextlib.suppress(OSError):
        os.chmod(data_dir, DIRECTORY_MODE)


def load_credentials(data_dir: Path) -> AppCredentials | None:
    """The stored credentials, or None when setup has not run. Refuses a file that others
    can read, as ssh does with private keys."""
    path = credentials_path(data_dir)
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise CredentialsError(f"cannot read {_named}: {error.strerror}") from None
    with os.fdopen(descriptor, "rb") as handle:
        mode = os.fstat(handle.fileno()).st_mode
        if stat.S_IMODE(mode) & 0o077:
            raise CredentialsError(
                f"{_named} is readable by other users (mode {stat.S_IMODE(mode):o}): "
                f"run chmod 600 on it"
            )
        raw = handle.read()
    try:
        return AppCredentials.model_validate_json(raw)
    except ValidationError:
        # The validation message could quote a value: say only which fields are wrong.
        raise CredentialsError(f"{_named} is not a valid credentials file") from None


def store_credentials(data_dir: Path, credentials: AppCredentials) -> Path:
    """Write the credentials file atomically with mode 0600; CredentialsExist if one is there
    (two setups racing cannot overwrite each other)."""
    try:
        return _publish_private(data_dir, CREDENTIALS_FILENAME, credentials.to_json())
    except FileExistsError:
        raise CredentialsExist(f"{_named} exists") from None


def setup_token(data_dir: Path) -> str:
    """The token /setup asks for, created (0600) on first use and kept until setup succeeds:
    only someone who can read the server's data dir can start the setup."""
    path = data_dir / SETUP_TOKEN_FILENAME
    if not path.exists():
        with contextlib.suppress(FileExistsError):  # a concurrent request made it first
            token = secrets.token_urlsafe(24)
            _publish_private(data_dir, SETUP_TOKEN_FILENAME, f"{token}\n".encode())
    descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(descriptor, "rb") as handle:
        return handle.read().decode("ascii").strip()


def forget_setup_token(data_dir: Path) -> None:
    (data_dir / SETUP_TOKEN_FILENAME).unlink(missing_ok=True)


def _publish_private(data_dir: Path, name: str, content: bytes) -> Path:
    """Write `data_dir/name` atomically with mode 0600; FileExistsError if it is there.

    The content goes to a temporary file created 0600 (O_EXCL, so never someone else's file),
    then `link` publishes it under the final name, which fails if that name exists: two writers
    racing cannot overwrite each other, and readers never see a half-written file.
    """
    ensure_private_dir(data_dir)
    final = data_dir / name
    if final.exists():
        raise FileExistsError(final)
    temporary = data_dir / f".{name}.{secrets.token_hex(8)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    descriptor = os.open(temporary, flags, FILE_MODE)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            os.fchmod(handle.fileno(), FILE_MODE)  # whatever the umask
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temporary, final)
    finally:
        temporary.unlink(missing_ok=True)
    _sync_directory(data_dir)
    return final


def _sync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
