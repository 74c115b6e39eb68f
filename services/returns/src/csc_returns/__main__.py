from csc_returns.entrypoints.cli import cli

cli()
