from haan.cli import entry

entry()
