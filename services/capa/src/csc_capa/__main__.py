from csc_capa.cli import cli

cli()
