"""granian with its one worker inside the calling process.

``granian --workers 1`` runs two interpreters: a main process that only
watches, and the worker that serves. ``serve_here`` runs that worker as a
thread of the calling process instead, so ``fixtrail run`` on a small
machine is one process fewer (about 25 MB of PSS: an interpreter and a
second mapping of granian's native library; bench/e2e.py).

granian runs workers as threads only on free-threaded Python, and refuses
to start them under the GIL because several threaded workers would share
one core there. One worker shares nothing, so the refusal is lifted for
exactly that case; more workers stay processes (``python -m granian``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from granian.constants import Interfaces
from granian.server.common import AbstractServer
from granian.server.mt import MTServer


class _OneThreadServer(MTServer):
    def _check_gil(self) -> None:
        # The check guards parallel workers; one worker thread needs none.
        return None

    def serve(self, *args: Any, **kwargs: Any) -> None:
        # MTServer.serve only adds a warning about free-threaded Python,
        # which this is not, before the common serve.
        AbstractServer.serve(self, *args, **kwargs)

    def signal_handler_reload(self, *args: Any, **kwargs: Any) -> None:
        # SIGHUP (the terminal closed) stops the server, as it stops a
        # supervisor of worker processes; granian would restart the web
        # worker and leave the server running with no terminal.
        self.signal_handler_interrupt()


class InProcessWeb:
    """A granian server for ``target`` with one worker thread, to be served
    from the main thread with ``serve()``."""

    def __init__(
        self, target: str, host: str, port: int, options: dict[str, Any]
    ) -> None:
        self._server = _OneThreadServer(
            target,
            address=host,
            port=port,
            interface=Interfaces.WSGI,
            workers=1,
            websockets=False,
            **options,
        )

    def on_shutdown(self, hook: Callable[[], Any]) -> None:
        """Run ``hook`` once the worker has stopped, before serve returns."""
        self._server.on_shutdown(hook)

    def stop(self) -> None:
        """Ask serve() to stop, as SIGTERM does; safe from any thread."""
        self._server.signal_handler_interrupt()

    def serve(self) -> None:
        """Serve until SIGINT, SIGTERM or stop(); install those handlers."""
        self._server.serve()
