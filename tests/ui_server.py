"""``steplineage ui`` in a subprocess, for the tests that talk to the standalone app over HTTP."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

VENV_BIN = Path(sys.executable).parent


@contextmanager
def running_ui(log: Path, *args: str) -> Iterator[str]:
    """Start ``steplineage ui *args`` (output to ``log``); yield the URL it prints; stop it.

    Example: ``with running_ui(tmp_path / "ui.log", "--port", "0", "--token", "t") as url:``
    gives ``http://127.0.0.1:<port>/login?token=t``.
    """
    out = log.open("w")
    proc = subprocess.Popen([str(VENV_BIN / "steplineage"), "ui", *args],
                            stdout=out, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        url = None
        while url is None and time.monotonic() < deadline:
            found = re.search(r"open (http://\S+)", log.read_text())
            if found:
                url = found.group(1)
            elif proc.poll() is not None:
                break
            else:
                time.sleep(0.2)  # polling the log with a deadline, not waiting out a race
        if url is None:
            raise AssertionError(f"steplineage ui did not start:\n{log.read_text()}")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        out.close()
