"""``steplineage ui``: the lineage web app without Airflow.

Example:
    $ steplineage ui --port 8765 --token "$(openssl rand -hex 16)"
"""

from __future__ import annotations

from typing import Optional

import typer
from rich.console import Console

from steplineage.cli._common import HomeOption, UrlOption, console, open_catalog
from steplineage.errors import SteplineageError

__all__ = ["ui"]


def ui(
    host: str = typer.Option("127.0.0.1", "--host",
                             help="Interface to bind; anything but 127.0.0.1/::1 exposes the "
                                  "catalog to the network (use --token then)."),
    port: int = typer.Option(8765, "--port", help="TCP port (0 picks a free one)."),
    token: Optional[str] = typer.Option(
        None, "--token", envvar="STEPLINEAGE_UI_TOKEN",
        help="Require this token (Bearer header, or the cookie set by the printed URL)."),
    url: UrlOption = None, home: HomeOption = None,
) -> None:
    """Serve the lineage web app (the Airflow Lineage tab, without Airflow).

    Example:
        $ steplineage ui --port 8765 --token "$(openssl rand -hex 16)"
    """
    import socket

    try:
        import uvicorn

        from steplineage.web.access import TokenAccess
        from steplineage.web.app import create_app
    except ImportError as exc:
        raise SteplineageError(f"`steplineage ui` needs FastAPI, uvicorn and Jinja2 ({exc}): "
                               "pip install 'steplineage[ui]'") from None
    cat = open_catalog(url, home)
    if host not in ("127.0.0.1", "localhost", "::1") and not token:
        Console(stderr=True).print(f"[yellow]warning:[/yellow] serving the catalog on {host} "
                                   "without --token: anyone who can reach it can read it")
    app = create_app(lambda: cat, TokenAccess(token))
    # Bind first, then print: with --port 0 the URL must name the port really chosen.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    shown = f"[{host}]" if ":" in host else host
    address = f"http://{shown}:{sock.getsockname()[1]}"
    console.print(f"steplineage lineage UI for {cat!r}")
    console.print(f"open {address}/login?token={token}" if token else f"open {address}/",
                  soft_wrap=True, highlight=False)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    server.run(sockets=[sock])
