"""``python -m qfzz`` runs the ``qfzz`` command."""

from qfzz.app import main

main()
