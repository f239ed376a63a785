"""Run one docs page's samples in order: ``python page_runner.py samples.json``.

Started by test_doc_samples.py in a fresh process whose cwd is an empty temp dir
and whose STEPLINEAGE_HOME is an empty temp dir. Python blocks share one
namespace, like a reader pasting them into one session; console commands run
through bash with the venv's bin/ first on PATH and must exit 0. The first
failure prints where it happened (page:line) and exits 1.
"""

from __future__ import annotations

import json
import subprocess
import sys
import traceback


def main(spec: str) -> int:
    with open(spec, encoding="utf-8") as fh:
        samples = json.load(fh)
    namespace: dict[str, object] = {"__name__": "__main__"}
    for sample in samples:
        where = sample["where"]
        print(f"--- {where} ({sample['kind']})", flush=True)
        if sample["kind"] == "python":
            try:
                exec(compile(sample["code"], where, "exec"), namespace)  # noqa: S102 - the point
            except BaseException:  # noqa: BLE001 - report any failure with its place
                traceback.print_exc()
                print(f"FAILED: python sample at {where}", flush=True)
                return 1
            continue
        for command in sample["code"].splitlines():
            print(f"$ {command}", flush=True)
            done = subprocess.run(["bash", "-c", command], timeout=120)
            if done.returncode != 0:
                print(f"FAILED: `{command}` at {where} exited {done.returncode}", flush=True)
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
