"""Load: many scripted sessions on one server process (127.0.0.1 only, bounded in time and count).

    python -m bench.bench_load                 # 30 sessions for 120 s
    python -m bench.bench_load --sessions 10 --seconds 30
    python -m bench.bench_load --replicas 2    # one process per core, sessions spread over them

Each session is a websocket client speaking Streamlit's own protocol (the protobuf messages of
``streamlit.proto``, as the browser does): it asks for one page after another in a fixed
round (the pages a class walks through) and times each request until the server reports the
script finished; the browser's drawing is not included (bench_app measures one browser).
Printed: draws, draws per second, p50 / p95 / max of the draw time, exceptions shown on a
page, and the server's peak and final RSS. Goal: p95 <= 3 s with 30 sessions, no error.

With ``--replicas N`` the benchmark starts N server processes and session k always talks to
process k mod N, as the README's sticky proxy keeps a browser on one process (the proxy's own
cost is not included). The clients run on the same machine and take CPU from the servers:
their CPU time is printed beside the wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_app import _free_port, _peak_rss_mb, _start_server, table  # noqa: E402

ROUND = ["", "compare", "survival", "cox", "calculator", "validation", "story", "reproduction"]


per_page: dict[str, list[float]] = {}


async def _session(url: str, deadline: float, k: int, times: list, errors: list) -> None:
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    ws_url = url.replace("http://", "ws://") + "/_stcore/stream"
    async with websockets.connect(
        ws_url,
        subprotocols=["streamlit"],
        origin=url,
        max_size=64 * 2**20,
        ping_interval=None,  # as the browser: no client pings (a busy server answers late)
    ) as ws:
        i = k  # sessions start at different pages
        while time.perf_counter() < deadline:
            page = ROUND[i % len(ROUND)]
            i += 1
            msg = BackMsg()
            msg.rerun_script.query_string = ""
            msg.rerun_script.page_name = page
            t0 = time.perf_counter()
            await ws.send(msg.SerializeToString())
            while True:
                try:
                    raw = await asyncio.wait_for(ws.recv(), timeout=120)
                except TimeoutError:
                    errors.append(f"session {k}: no answer for {page or 'overview'}")
                    return
                except websockets.exceptions.ConnectionClosed as exc:
                    errors.append(f"session {k}: connection closed ({exc})")
                    return
                fwd = ForwardMsg()
                fwd.ParseFromString(raw)
                kind = fwd.WhichOneof("type")
                if kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                    if fwd.delta.new_element.WhichOneof("type") == "exception":
                        errors.append(
                            f"{page or 'overview'}: {fwd.delta.new_element.exception.type}"
                        )
                if kind == "script_finished":
                    if fwd.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY:
                        times.append(time.perf_counter() - t0)
                        per_page.setdefault(page or "overview", []).append(times[-1])
                        break
                    if fwd.script_finished == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                        errors.append(f"{page}: compile error")
                        break


async def _run(urls: list[str], sessions: int, seconds: float) -> tuple[list, list, float]:
    times: list[float] = []
    errors: list[str] = []
    start = time.perf_counter()
    deadline = start + seconds
    await asyncio.gather(
        *(_session(urls[k % len(urls)], deadline, k, times, errors) for k in range(sessions))
    )
    return times, errors, time.perf_counter() - start


def _wait_up(url: str) -> None:
    for _ in range(200):
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
            return
        except OSError:
            time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--replicas", type=int, default=1)
    args = parser.parse_args()
    sessions = max(1, min(args.sessions, 100))  # bounded
    seconds = max(5.0, min(args.seconds, 600.0))
    replicas = max(1, min(args.replicas, 4))
    urls, procs = [], []
    try:
        for _ in range(replicas):
            port = _free_port()
            urls.append(f"http://127.0.0.1:{port}")
            procs.append(_start_server(port))
        for url in urls:
            _wait_up(url)
            asyncio.run(_run([url], 1, 40.0))  # warm the caches: each page's first visit, once
        per_page.clear()
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        times, errors, wall = asyncio.run(_run(urls, sessions, seconds))
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        memory = [_peak_rss_mb(p.pid) for p in procs]
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=20)
    client_cpu = cpu1.ru_utime - cpu0.ru_utime + cpu1.ru_stime - cpu0.ru_stime
    q = statistics.quantiles(times, n=20) if len(times) >= 20 else [float("nan")] * 19
    table(
        f"Load: {sessions} scripted sessions for {seconds:g} s on "
        + ("one server process" if replicas == 1 else f"{replicas} server processes")
        + " (127.0.0.1)",
        ["measure", "value", "goal"],
        [
            ["page draws (server side)", f"{len(times)}", ""],
            ["draws per second", f"{len(times) / wall:.1f}", ""],
            ["p50 draw time", f"{statistics.median(times):.2f} s" if times else "–", ""],
            ["p95 draw time", f"{q[18]:.2f} s", "<= 3 s"],
            ["max draw time", f"{max(times):.2f} s" if times else "–", ""],
            ["errors (exceptions, timeouts)", f"{len(errors)}", "0"],
            *(
                [f"server {i + 1} RSS peak / end", f"{hwm:.0f} / {rss:.0f} MB", ""]
                for i, (hwm, rss) in enumerate(memory)
            ),
            ["clients' CPU time / wall time", f"{client_cpu:.0f} s / {wall:.0f} s", ""],
        ],
    )
    for e in errors[:10]:
        print("  error:", e)
    print("\nmedian draw per page (all sessions):")
    for page, v in sorted(per_page.items(), key=lambda kv: -statistics.median(kv[1])):
        print(f"  {page:14s} {statistics.median(v):6.2f} s  ({len(v)} draws)")


if __name__ == "__main__":
    main()
