"""A lock that serialises the paging callbacks of one machine (``fcntl.flock`` on a file per key).

Processes on the same machine (LocalExecutor workers, the dag-processor, the triggerer, ``dag.test``)
then claim an incident one after another and never race; claims across machines still rely on the
store's write-then-read-back (see :mod:`exotel_provider.paging.incidents`).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

LOCK_DIR = Path(tempfile.gettempdir()) / "exotel-provider-page-locks"


@contextlib.contextmanager
def machine_lock(key: str, *, folder: Path = LOCK_DIR) -> Iterator[None]:
    """Hold an exclusive lock named ``key`` (a store key: letters, digits, dots) until the block ends."""
    folder.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(folder / f"{key}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock
