"""breakerd-client: an asyncio client for breakerd, the shared circuit-breaker daemon.

.. code-block:: python

    from breakerd import Client, BreakerOpen

    client = await Client.connect("127.0.0.1:7420", client_name="orders-7f9c")
    db = client.breaker("postgresql-primary")
    async with db:
        rows = await conn.fetch("select 1")
    await client.aclose()
"""

from .breaker import Attempt, Breaker
from .client import Client
from .clock import ManualClock
from .config import BreakerConfig
from .errors import BreakerdError, BreakerOpen, ConnectionLost, DaemonError, ForkedClientError, ProtocolViolation
from .fallback import FallbackMode
from .retry import retry
from .stats import Stats

__version__ = "0.1.0"

__all__ = [
    "Attempt", "Breaker", "BreakerConfig", "BreakerOpen", "BreakerdError", "Client", "ConnectionLost",
    "DaemonError", "FallbackMode", "ForkedClientError", "ManualClock", "ProtocolViolation", "Stats", "retry",
]
