"""Python's cyclic garbage collector paused around steps that make many long-lived objects (issue 34).

A command's imports (SQLAlchemy, the models, pandas: hundreds of thousands of objects) and a county
roster's rows, plan and batches (a row's worth of objects for each of 198,500 households, freed by
reference counting) gave the collector passes that found nothing to free: about a tenth of
``hygiene results``' and of the roster import's CPU time. This module imports nothing heavy, so
the command line can use it before it loads anything else.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """No cyclic garbage collection inside the block. The collector is process-wide: it is switched
    back on by whoever switched it off, so it ends on however blocks overlap, and on an exception."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
