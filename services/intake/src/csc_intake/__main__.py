from csc_intake.entrypoints.cli import cli

cli()
