"""Child processes that do not outlive their parent."""

from __future__ import annotations

import ctypes
import os
import signal
import sys

# prctl option: the signal a process gets when its parent dies (linux/prctl.h).
PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """Make this process get SIGTERM when process ``parent`` dies, however it
    dies (SIGKILL, the OOM killer).

    Call it in the child, right after the fork. Without it, a server's
    children live on as orphans that keep the port and the queue, and the
    next start fails. Linux's PR_SET_PDEATHSIG does it; elsewhere this does
    nothing.
    """
    if sys.platform != "linux":
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    # The parent may have died between the fork and prctl.
    if os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGTERM)
