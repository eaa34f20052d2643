#!/usr/bin/env python3
"""Load and fault benchmark on loopback (prints figures, asserts nothing).

1. Throughput: wrk against POST /api/v1/predict and against GET /healthz (the
   framework's floor in the same server), each for a fixed time: requests/s,
   p50/p99 latency, errors, and predict as a share of the floor.
2. Memory: the server's RSS after successive wrk runs adding up to at least
   100,000 predictions (flat means no leak).
3. Start-up faults: missing, truncated, tampered and wrong-schema artifacts
   must each be refused with a message and a non-zero exit.
4. SIGTERM under load: in-flight requests complete; none is cut off midway.

Usage: python bench/load.py [--seconds 10] [--connections 32]
Needs wrk (Debian package 'wrk'). Traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ARTIFACT = REPO / "model_artifacts" / "rnet-demo-v1.json"
BODY = json.dumps({"surface_depression": True, "ki67_percent": 4.5, "cga_positive": True})
LUA = f"""wrk.method = "POST"
wrk.body = '{BODY}'
wrk.headers["Content-Type"] = "application/json"
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, *, artifact: Path = ARTIFACT, workers: int = 1) -> subprocess.Popen:
    env = {**os.environ, "RNET_WORKERS": str(workers), "RNET_LOG_LEVEL": "warning"}
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", str(port), "--artifact", str(artifact)],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/readyz")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not become ready")


def wrk(url: str, seconds: int, connections: int, script: Path | None = None) -> dict[str, float]:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if script:
        command[1:1] = ["-s", str(script)]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout

    def latency(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)", out, re.M)
        value, unit = float(match.group(1)), match.group(2)
        return value * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    requests = int(re.search(r"(\d+) requests in", out).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non_2xx.group(1)) if non_2xx else 0) + (sum(map(int, socket_errors.groups())) if socket_errors else 0)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": latency("50"),
        "p99": latency("99"),
        "requests": requests,
        "errors": errors,
    }


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def throughput_and_memory(seconds: int, connections: int) -> dict[str, float]:
    port = free_port()
    server = start_server(port)
    work = Path(tempfile.mkdtemp())
    script = work / "post.lua"
    script.write_text(LUA)
    try:
        base = f"http://127.0.0.1:{port}"
        wrk(base + "/healthz", 2, connections)  # warm-up
        floor = wrk(base + "/healthz", seconds, connections)
        predict = wrk(base + "/api/v1/predict", seconds, connections, script)
        print(f"{'endpoint':<22}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
        print(
            f"{'GET /healthz (floor)':<22}{floor['rps']:>10.0f}{floor['p50']:>9.2f}{floor['p99']:>9.2f}{floor['errors']:>8}"
        )
        print(
            f"{'POST /api/v1/predict':<22}{predict['rps']:>10.0f}{predict['p50']:>9.2f}{predict['p99']:>9.2f}{predict['errors']:>8}"
        )
        ratio = predict["rps"] / floor["rps"]
        print(f"predict / floor throughput: {100 * ratio:.0f} % (goal ≥ 80 %)")
        total = predict["requests"]
        readings = [rss_mb(server.pid)]
        while total < 100_000:
            run = wrk(base + "/api/v1/predict", seconds, connections, script)
            total += run["requests"]
            readings.append(rss_mb(server.pid))
        print(f"memory (RSS, MB) across {total:,} predictions: " + " → ".join(f"{r:.1f}" for r in readings))
        return {"ratio": ratio, "predict_rps": predict["rps"], "floor_rps": floor["rps"], "rss_first": readings[0],
                "rss_last": readings[-1], "requests": total, "errors": predict["errors"]}  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


def startup_faults() -> list[tuple[str, int, str]]:
    work = Path(tempfile.mkdtemp())
    data = json.loads(ARTIFACT.read_text())
    cases = {"missing": work / "missing.json"}
    (work / "truncated.json").write_text(ARTIFACT.read_text()[:1000])
    cases["truncated"] = work / "truncated.json"
    tampered = {**data, "coefficients": {**data["coefficients"], "intercept": 0.0}}
    (work / "tampered.json").write_text(json.dumps(tampered))
    cases["tampered"] = work / "tampered.json"
    (work / "schema.json").write_text(json.dumps({**data, "schema_version": 2}))
    cases["wrong schema"] = work / "schema.json"
    results = []
    for name, path in cases.items():
        run = subprocess.run([sys.executable, "-m", "app", "serve", "--port", str(free_port()), "--artifact", str(path)],
                             cwd=REPO, capture_output=True, text=True, timeout=60)  # fmt: skip
        results.append((name, run.returncode, run.stderr.strip().splitlines()[-1][:110] if run.stderr.strip() else ""))
    shutil.rmtree(work, ignore_errors=True)
    for name, code, message in results:
        print(f"{name:<13} exit {code}  {message}")
    return results


def sigterm_under_load(clients: int = 16) -> dict[str, int]:
    port = free_port()
    server = start_server(port)
    counts = {"completed": 0, "refused after shutdown": 0, "cut off midway": 0}
    lock = threading.Lock()
    stop = threading.Event()

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while not stop.is_set():
            try:
                connection.request("POST", "/api/v1/predict", body=BODY, headers={"content-type": "application/json"})
            except OSError:
                with lock:
                    counts["refused after shutdown"] += 1
                return
            try:
                response = connection.getresponse()
                response.read()
                outcome = "completed" if response.status == 200 else "cut off midway"
            except http.client.IncompleteRead:
                outcome = "cut off midway"
            except (http.client.RemoteDisconnected, ConnectionError):
                outcome = "refused after shutdown"  # closed between requests: nothing was in flight
                with lock:
                    counts[outcome] += 1
                return
            with lock:
                counts[outcome] += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(2)
    server.send_signal(signal.SIGTERM)
    code = server.wait(timeout=30)
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
    # uvicorn finishes in-flight requests, then re-raises the signal: exit -15 is that graceful end.
    how = "graceful (re-raised SIGTERM)" if code == -signal.SIGTERM else f"exit {code}"
    print(f"SIGTERM under load: server {how}; " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return {**counts, "exit": code}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    print(
        f"machine: {os.cpu_count()} cores; one server process; wrk -t1 -c{args.connections} -d{args.seconds}s on 127.0.0.1"
    )
    throughput_and_memory(args.seconds, args.connections)
    startup_faults()
    sigterm_under_load()


if __name__ == "__main__":
    main()
