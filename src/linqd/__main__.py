"""``python -m linqd`` runs the command line."""

from .cli import main

main()
