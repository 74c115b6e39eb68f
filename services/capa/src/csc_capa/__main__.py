from csc_capa.entrypoints.cli import cli

cli()
