from csc_intake.cli import cli

cli()
