"""A real RabbitMQ for the end-to-end test of the AMQP broker: RABBITMQ_URL, else the local
default (amqp://guest:guest@127.0.0.1:5672//). `.ci/run` installs and starts one when missing.

When none answers the test skips with the reason (a failure under REQUIRE_ALL_TESTS=1, as every
skip: tests/require_all.py).
"""

from __future__ import annotations

import os

import pytest

from workers.jobs import SCAN_QUEUE

DEFAULT_URL = "amqp://guest:guest@127.0.0.1:5672//"


def rabbitmq_url() -> str:
    """A reachable broker URL whose scan queue holds nothing left over from earlier runs."""
    from celery import Celery

    url = os.environ.get("RABBITMQ_URL", DEFAULT_URL)
    try:
        with Celery(broker=url).connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=5)
            queue = connection.SimpleQueue(SCAN_QUEUE)  # declares it as the worker does
            queue.clear()
            queue.close()
    except Exception as error:  # any transport error: nothing to test against
        reason = f"no RabbitMQ at RABBITMQ_URL or {DEFAULT_URL} ({type(error).__name__})"
        pytest.skip(reason)
    return url
