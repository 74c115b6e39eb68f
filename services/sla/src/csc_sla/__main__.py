from csc_sla.entrypoints.cli import cli

cli()
