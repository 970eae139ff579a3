"""Delivery by e-mail: the outbox every letter, certificate and report is queued in, and sending it by SMTP.

:mod:`.outbox` queues a message (inside the caller's transaction, so a letter and its message are recorded
together) and reads the queue; :mod:`.smtp` holds the settings and builds the e-mail of a queued message;
:mod:`.send` sends the queue, safe to kill and run again. Every public name of these modules is here: use
``evalkit.delivery.<name>``.
"""
from . import outbox, send, smtp
from .outbox import *  # noqa: F401,F403
from .send import *  # noqa: F401,F403
from .smtp import *  # noqa: F401,F403

__all__ = [*outbox.__all__, *smtp.__all__, *send.__all__]
