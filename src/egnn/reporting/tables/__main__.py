"""``python -m egnn.reporting.tables``: see :mod:`egnn.reporting.tables`."""

from egnn.reporting.tables import main

main()
