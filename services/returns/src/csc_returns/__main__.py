from csc_returns.cli import cli

cli()
