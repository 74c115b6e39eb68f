from csc_notify.entrypoints.cli import cli

cli()
