"""A TCP forwarder on 127.0.0.1 that tests switch off and on, to make a real catalog unreachable.

``down()`` closes the listening socket and every forwarded connection, so the
client sees refused and reset connections exactly as when a database host goes
away; ``up()`` listens again on the same port. ``proxied(url)`` puts one in front of a
database URL; ``row_counts`` tells whether anything reached the catalog meanwhile.
"""

from __future__ import annotations

import socket
import threading

from sqlalchemy import text
from sqlalchemy.engine import make_url


class ToggleProxy:
    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._lock = threading.Lock()
        self._conns: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self.up()

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        with self._lock:
            if self._listener is not None:
                try:  # wakes the thread blocked in accept(); close() alone does not
                    self._listener.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                self._listener.close()
                self._listener = None
            for c in self._conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                c.close()
            self._conns.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.close()
                except OSError:
                    pass


def proxied(url: str) -> tuple[ToggleProxy, str]:
    """A proxy (up) in front of the database at ``url``, and the URL that goes through it."""
    target = make_url(url)
    proxy = ToggleProxy(target.host or "127.0.0.1", target.port or 5432)
    return proxy, target.set(host="127.0.0.1", port=proxy.port).render_as_string(
        hide_password=False)


def row_counts(cat: object, tables: tuple[str, ...]) -> dict[str, int]:
    """Rows per table of a catalog (``cat.engine``), read directly, not through a proxy."""
    with cat.engine.connect() as conn:  # type: ignore[attr-defined]
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar()  # noqa: S608
                for t in tables}
