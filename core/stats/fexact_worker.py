"""A separate process that runs FEXACT (fisher-rxc) for :mod:`core.stats.fisher`.

fisher-rxc is compiled code that, on some tables R answers with "FEXACT error 30", crashes
with a segmentation fault instead of returning its error code (seen here on a 5 x 41 table of
71 patients). In the server process that would end every user's session, so FEXACT runs
here: the server talks to one long-lived worker over a pipe, one JSON line per table, and a
crash costs only this process (the next table starts a new one).

Protocol: each request line is ``{"table": [[...]], "workspace": n}``; each answer line is
``{"p": value}`` (FEXACT's value: a p-value, or minus its error code). FEXACT prints its
error messages on stdout, so the answers go out on a copy of stdout taken before stdout is
pointed at stderr.

    python -m core.stats.fexact_worker
"""

from __future__ import annotations

import json
import os
import sys


def main() -> int:
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # FEXACT's own messages: to stderr, never into the answers
    import fisher  # fisher-rxc

    for line in sys.stdin:
        request = json.loads(line)
        p = float(fisher.exact(request["table"], int(request["workspace"])))
        answers.write(json.dumps({"p": p}) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
