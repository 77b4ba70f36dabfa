"""Fork safety: a client belongs to the process that made it.

Its sockets and tasks belong to the parent's event loop, so a client used in a child after
``os.fork()`` (a pre-fork server such as gunicorn) would corrupt the parent's connections.
Every client is marked at fork time (no cost on the hot path) and raises
:class:`ForkedClientError` when used in the child; a client made after the fork works.
"""

from __future__ import annotations

import os
import weakref
from typing import Protocol

from .errors import ForkedClientError


class _Forkable(Protocol):
    _forked: bool
    _pid: int


_clients: weakref.WeakSet[_Forkable] = weakref.WeakSet()

MESSAGE = ("this breakerd Client was created in process {pid} and used in process {now} after a fork; "
           "its connections belong to the parent. Create the Client in each worker process, after the "
           "fork (e.g. in the app's lifespan startup).")


def _after_fork_in_child() -> None:
    for client in list(_clients):
        client._forked = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def track(client: _Forkable) -> None:
    """Marks ``client`` as forked in any child process forked from now on."""
    _clients.add(client)


def check(client: _Forkable) -> None:
    """Raises :class:`ForkedClientError` if ``client`` is used in a process other than its own."""
    if client._forked or os.getpid() != client._pid:
        client._forked = True
        raise ForkedClientError(MESSAGE.format(pid=client._pid, now=os.getpid()))
