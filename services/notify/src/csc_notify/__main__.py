from csc_notify.cli import cli

cli()
