from csc_sla.cli import cli

cli()
