"""Write the paper-vs-ours report folder (see ``egnn.reporting.report``): python scripts/report.py"""

from egnn.reporting.report import main

if __name__ == "__main__":
    main()
