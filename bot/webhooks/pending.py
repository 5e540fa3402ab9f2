"""GitHub deliveries before the GitHub App is configured: refused (503) until /setup has stored
the App, then verified with its webhook secret — without a restart.

Until then each delivery looks for the stored credentials (a small file read: an unconfigured
bot gets few deliveries); once found, the receiver is built and kept.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from bot.webhooks.events import GITHUB
from bot.webhooks.receiver import Receiver
from workers.runtime.app_credentials import CredentialsError, load_credentials
from workers.runtime.logs import LOGGER_NAME

NOT_CONFIGURED = "not configured: open /setup"

logger = logging.getLogger(LOGGER_NAME)


class PendingGitHub:
    def __init__(
        self, data_dir: Path, make_receiver: Callable[[dict[str, bytes | None]], Receiver]
    ) -> None:
        self._data_dir = data_dir
        self._make_receiver = make_receiver
        self._receiver: Receiver | None = None
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        return self._receiver is not None

    def receiver(self) -> Receiver | None:
        """The receiver once the App is stored; None while deliveries cannot be verified."""
        if self._receiver is not None:
            return self._receiver
        try:
            stored = load_credentials(self._data_dir)
        except CredentialsError as error:
            logger.warning("GitHub delivery refused: %s", error)
            return None
        if stored is None:
            return None
        with self._lock:
            if self._receiver is None:
                secret = stored.webhook_secret.get_secret_value().encode()
                self._receiver = self._make_receiver({GITHUB: secret})
                logger.info("GitHub App %s set up: receiving its deliveries", stored.slug)
        return self._receiver
