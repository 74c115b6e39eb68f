"""``csc-console serve`` (or ``python -m csc_console serve``)."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(help="The console: web pages over the four services.", no_args_is_help=True)


@app.callback()
def main() -> None:
    """The console: web pages over the four services."""


@app.command()
def serve(
    port: Annotated[int | None, typer.Option(help="Port; CSC_HTTP_PORT (8000) when unset.")] = None,
    host: Annotated[str | None, typer.Option(help="Address; CSC_HTTP_HOST when unset.")] = None,
) -> None:
    """Serve the console's pages."""
    import uvicorn

    from csc_console.settings import ConsoleSettings
    from csc_console.web import create_app
    from csc_messaging.logs import configure_logging
    from csc_messaging.tracing import configure_tracing

    settings = ConsoleSettings()
    configure_logging("console", settings.log_format)
    configure_tracing("console")
    uvicorn.run(
        create_app(settings),
        host=host or settings.http_host,
        port=port or settings.http_port,
        log_level="warning",
        access_log=False,
    )


def cli() -> None:
    app()
