"""What the registrar peers (Kamailio, our lab registrar) share as child processes.

Both run one process group from a scratch directory, keep what the process logged after the
directory is gone (a failing test prints it), and serve as context managers that start on
entry and stop and clean up on exit. Each says how it starts, stops and reads its log.
"""

from __future__ import annotations

import subprocess
import tempfile
from types import TracebackType
from typing import Any, Self


class PeerProcess:
    """A peer process with a scratch directory; subclasses set `_proc` and `_tmp` in start()."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[Any] | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._final_log = ""  # the log as it was when the scratch directory went away

    @property
    def log(self) -> str:
        raise NotImplementedError

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> int | None:
        raise NotImplementedError

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def cleanup(self) -> None:
        """Stop, keep the log, remove the scratch directory; safe to call twice."""
        self.stop()
        self._final_log = self.log
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()
