"""A ZooKeeper client as applications run one: writes a znode and reads it back every
50 ms until its standard input closes, each operation retried as ZooKeeper clients retry
(kazoo's KazooRetry: on a lost connection, again until it is done) for at most two
seconds; an operation not done by then, or reading another value than it wrote, failed.
Prints one JSON line: the operations, the failed ones, the slowest, the first errors.

    /usr/bin/python3 zookeeper_client.py HOST:PORT,HOST:PORT,...
"""

import json
import sys
import threading
import time

from kazoo.client import KazooClient
from kazoo.retry import KazooRetry

PATH = "/cairn-rollout-test"
PERIOD_SECONDS = 0.05


def main():
    client = KazooClient(
        hosts=sys.argv[1],
        timeout=10.0,
        connection_retry=dict(max_tries=-1, delay=0.05, backoff=1, max_delay=0.2),
    )
    client.start(timeout=30)
    client.ensure_path(PATH)
    retry = KazooRetry(max_tries=-1, delay=0.05, backoff=1, max_delay=0.2, deadline=2.0)
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    print("connected", file=sys.stderr, flush=True)
    operations, failed, slowest, errors = 0, 0, 0.0, []
    while not stop.is_set():
        value = str(operations).encode()
        started = time.monotonic()
        try:
            retry(client.set, PATH, value)
            read, _ = retry(client.get, PATH)
            if read != value:
                raise RuntimeError(f"read {read!r} after writing {value!r}")
        except Exception as error:
            failed += 1
            if len(errors) < 5:
                errors.append(f"{type(error).__name__}: {error}")
        elapsed = time.monotonic() - started
        slowest = max(slowest, elapsed)
        operations += 1
        time.sleep(max(0.0, PERIOD_SECONDS - elapsed))
    print(json.dumps({
        "operations": operations,
        "failed": failed,
        "slowest_ms": round(slowest * 1000),
        "errors": errors,
    }))
    client.stop()


main()
