"""A stand-in for `vllm serve` in the server lifecycle tests: an HTTP server on 127.0.0.1 whose
``/health`` answers 503 until ``--healthy-after`` seconds have passed, then 200 (never, if negative).

    python -m tests.support.stand_in_server --port P [--healthy-after S] [--exit-now CODE]
        [--ignore-sigterm] [--pid-file F]

``--exit-now``: print a log line and exit with CODE before listening (a server that crashes on start).
``--pid-file``: write this process's and a forked worker's pids (vLLM forks engine processes: both
must be gone after the stop). ``--ignore-sigterm``: only SIGKILL stops it.
"""

import argparse
import os
import signal
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--healthy-after", type=float, default=0.0)
    parser.add_argument("--exit-now", type=int, default=None)
    parser.add_argument("--ignore-sigterm", action="store_true")
    parser.add_argument("--pid-file", default=None)
    args = parser.parse_args()
    print(f"stand-in: loading model (CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')})", flush=True)
    if args.exit_now is not None:
        print("stand-in: RuntimeError: no CUDA device", flush=True)
        return args.exit_now
    if args.ignore_sigterm:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    worker = os.fork()
    if worker == 0:   # the engine process: sleeps until its group is killed
        while True:
            time.sleep(60)
    if args.pid_file:
        with open(args.pid_file, "w") as f:
            f.write(f"{os.getpid()} {worker}\n")
    ready_at = time.monotonic() + args.healthy_after if args.healthy_after >= 0 else float("inf")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            ok = self.path == "/health" and time.monotonic() >= ready_at
            self.send_response(200 if ok else 503)
            self.send_header("Content-Length", "0")
            self.end_headers()

    HTTPServer(("127.0.0.1", args.port), Handler).serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
