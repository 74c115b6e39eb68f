from csc_console.cli import cli

cli()
