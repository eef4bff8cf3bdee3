"""Graceful shutdown without a lost request: uvicorn's HTTP protocol, draining.

On SIGTERM uvicorn stops accepting connections, lets each request in progress
finish (its answer says `Connection: close`), waits for every connection to
close, then runs the app's shutdown. But it closes idle keep-alive connections
at once, and a request a client has just sent on one is lost. Here an idle
connection gets DRAIN_IDLE_S for a request already on its way, which is answered
(and the connection closed) like the others.
"""

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# After SIGTERM, how long an idle keep-alive connection stays open for a request
# already on its way (answered, with `Connection: close`) before it is closed.
DRAIN_IDLE_S = 1.0


class DrainingHttp(HttpToolsProtocol):
    """HttpToolsProtocol (uvicorn's fastest), with `shutdown` draining idle connections."""

    draining = False

    def shutdown(self) -> None:
        self.draining = True
        if self.cycle is None or self.cycle.response_complete:
            self.loop.call_later(DRAIN_IDLE_S, self._close_if_idle)
        else:
            self.cycle.keep_alive = False

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        if self.draining and self.cycle is not None:
            self.cycle.keep_alive = False  # answered, then closed

    def _close_if_idle(self) -> None:
        idle = self.cycle is None or self.cycle.response_complete
        if idle and not self.transport.is_closing():
            self.transport.close()
