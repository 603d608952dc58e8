"""Shared error handling of the root scripts: a user error is one line on stderr."""
from __future__ import annotations

import sys
from typing import Callable


def run(work: Callable[[], object]) -> int:
    """Run `work`; map the core's typed errors and Ctrl-C to exit codes with one line."""
    from ragbot.errors import RagError

    try:
        work()
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; nothing was left half-written", file=sys.stderr)
        return 130
    return 0
