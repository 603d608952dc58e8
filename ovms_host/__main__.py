"""`python -m ovms_host`. After a clean shutdown (streams ended, servables finalized, logs
flushed) the process exits at once: the interpreter's own teardown (unloading torch and the
OpenVINO plugins, collecting their objects) takes seconds under load and releases nothing a
server still holds, and an orchestrator waits for it on every restart."""
from __future__ import annotations

import logging
import os
import sys

from .cli import main

code = main()
logging.shutdown()
sys.stdout.flush()
sys.stderr.flush()
os._exit(int(code or 0))
