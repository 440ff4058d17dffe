"""Build the reconstruction ensemble's members in parallel, resumable (build time only).

Each seed's reconstruction (``core.study.reconstruct.generate``) is written to its own part
file in a cache directory outside git (``ENSEMBLE_CACHE``, default ``/work/ens_parts``):
``seed_<s>.parquet`` when it converged, ``seed_<s>.failed`` (the reason) when the generator
raised, ``seed_<s>.timeout`` when it ran longer than the time limit per seed (``--timeout``;
most such seeds end up failing after three survival searches); a seed with any of these files
is not run again (``--retry-timeouts`` reruns the timed-out ones without a limit).
``seed_<s>.json`` records its wall time. Seeds are run in order from the first one, in one
worker process per core, until ``target`` seeds have converged. The frames do not depend on
the limit (a seed that converges gives the same frame whatever the limit); which seeds time
out depends on the machine, and the list is kept in the cache and printed in data/README.md.

    python -m core.study.ensemble_build --target 99 --workers 2
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path

import pandas as pd

CACHE_DIR = Path(os.environ.get("ENSEMBLE_CACHE", "/work/ens_parts"))
FIRST_SEED = 101


def part_path(seed: int, cache: Path = CACHE_DIR) -> Path:
    return cache / f"seed_{seed}.parquet"


def failed_path(seed: int, cache: Path = CACHE_DIR) -> Path:
    return cache / f"seed_{seed}.failed"


def timeout_path(seed: int, cache: Path = CACHE_DIR) -> Path:
    return cache / f"seed_{seed}.timeout"


class SeedTimeout(Exception):
    pass


def _alarm(signum, frame):
    raise SeedTimeout


def timing_path(seed: int, cache: Path = CACHE_DIR) -> Path:
    return cache / f"seed_{seed}.json"


def write_frame(df: pd.DataFrame, path: Path) -> None:
    """Parquet written the same way every time (no index, pyarrow, fixed compression), via a
    temporary file so that an interrupted build never leaves half a part."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    df.to_parquet(tmp, index=False, engine="pyarrow", compression="snappy")
    tmp.replace(path)


def status(seed: int, cache: Path = CACHE_DIR) -> str | None:
    if part_path(seed, cache).exists():
        return "ok"
    if failed_path(seed, cache).exists():
        return "failed"
    if timeout_path(seed, cache).exists():
        return "timeout"
    return None


def run_seed(seed: int, cache: Path = CACHE_DIR, timeout: int = 0) -> tuple[int, str, float]:
    """Generate one seed into its part file; (seed, "ok" | "failed" | "timeout", seconds).
    ``timeout`` > 0: stop the generator after that many seconds (SIGALRM in this worker)."""
    import signal

    from core.study.reconstruct import generate

    t0 = time.time()
    st = "ok"
    if timeout > 0:
        signal.signal(signal.SIGALRM, _alarm)
        signal.alarm(timeout)
    try:
        df = generate(seed=seed)
    except RuntimeError as exc:  # the survival search did not reach its targets
        st = "failed"
        failed_path(seed, cache).write_text(f"{exc}\n")
    except SeedTimeout:
        st = "timeout"
        timeout_path(seed, cache).write_text(f"stopped after {timeout} s\n")
    finally:
        if timeout > 0:
            signal.alarm(0)
    secs = time.time() - t0
    if st == "ok":
        write_frame(df, part_path(seed, cache))
    timing_path(seed, cache).write_text(json.dumps({"seed": seed, "seconds": secs,
                                                    "status": st}))  # fmt: skip
    return seed, st, secs


def _fmt_secs(s: float) -> str:
    s = round(s)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def build_parts(target: int, workers: int = 2, cache: Path = CACHE_DIR,
                first: int = FIRST_SEED, limit: int = 400, timeout: int = 0,
                retry_timeouts: bool = False) -> list[int]:  # fmt: skip
    """Run seeds first, first+1, ... until ``target`` of them have converged; returns the
    converged seeds in order. Progress (done of needed, elapsed, ETA) goes to stdout."""
    cache.mkdir(parents=True, exist_ok=True)
    seeds = range(first, first + limit)
    ok = [s for s in seeds if status(s, cache) == "ok"]
    done_before = len(ok)
    print(f"{done_before} converged seeds in {cache}; target {target}", flush=True)
    if retry_timeouts:
        for s in seeds:
            if status(s, cache) == "timeout":
                timeout_path(s, cache).unlink()
    pending = iter(s for s in seeds if status(s, cache) is None)
    t0 = time.time()
    new_ok = new_failed = new_timeout = 0
    times: list[float] = []
    running: dict = {}
    with ProcessPoolExecutor(max_workers=workers) as pool:

        def fill() -> None:
            while len(running) < workers and len(ok) + len(running) < target:
                s = next(pending, None)
                if s is None:
                    return
                running[pool.submit(run_seed, s, cache, timeout)] = s

        fill()
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in finished:
                running.pop(fut)
                seed, st, secs = fut.result()
                times.append(secs)
                if st == "ok":
                    ok.append(seed)
                    new_ok += 1
                elif st == "failed":
                    new_failed += 1
                else:
                    new_timeout += 1
                elapsed = time.time() - t0
                left = max(target - len(ok), 0)
                rate = elapsed / new_ok if new_ok else float("nan")
                eta = _fmt_secs(rate * left) if new_ok else "?"
                print(f"seed {seed} {st} in {secs:.0f} s | {len(ok)} of {target} converged "
                      f"({new_ok} new, {new_failed} failed, {new_timeout} timed out) | "
                      f"elapsed {_fmt_secs(elapsed)} | ETA {eta}", flush=True)  # fmt: skip
            fill()
    return sorted(ok)[:target]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--target", type=int, default=99)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--cache", type=Path, default=CACHE_DIR)
    ap.add_argument("--first", type=int, default=FIRST_SEED)
    ap.add_argument("--timeout", type=int, default=0, help="seconds per seed (0: no limit)")
    ap.add_argument("--retry-timeouts", action="store_true")
    args = ap.parse_args()
    build_parts(args.target, args.workers, args.cache, args.first, timeout=args.timeout,
                retry_timeouts=args.retry_timeouts)  # fmt: skip


if __name__ == "__main__":
    main()
