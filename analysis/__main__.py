"""Entry point for ``python -m analysis``.

With ``ANALYSIS_WORKER=1`` (set by the Makefile) the command runs in the
pre-imported worker (:mod:`analysis.pipeline.worker`) where it can, else in this process.
"""

import os
import sys

if os.environ.get("ANALYSIS_WORKER") == "1":
    from analysis.pipeline import worker

    status = worker.run(sys.argv[1:])
    if status is not None:
        raise SystemExit(status)

from analysis.pipeline.cli import main

raise SystemExit(main())
