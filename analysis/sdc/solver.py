"""scipy's HiGHS MILP without its stray console lines.

HiGHS (as scipy ships it) prints some messages from C++ straight to the process's
standard output whatever its ``disp`` option says ("Iteration limit reached",
"transformNewIntegerFeasibleSolution ..."). They are not errors (the callers read
the solver's status), but they would fill the output of ``make report`` and of the
commands. :func:`milp` runs the solver with file descriptor 1 pointed at
``os.devnull``.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager

from scipy.optimize import milp as _milp


@contextmanager
def _stdout_silenced():
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):
        # No file descriptor 1 to redirect (an embedding host): run as it is.
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def milp(*args, **kwargs):
    """:func:`scipy.optimize.milp`, with HiGHS's console lines discarded."""
    with _stdout_silenced():
        return _milp(*args, **kwargs)
