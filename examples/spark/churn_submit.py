"""The `churn` command as a Python file for spark-submit, which runs .py files, not console
scripts: `spark-submit [options] churn_submit.py train --config churn.toml` (docs/spark.md).

It lives outside the packages on purpose: spark-submit puts the script's folder first on the
import path, and a folder such as pipeline/ would let its modules shadow libraries'.
"""

import sys

from pipeline.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
