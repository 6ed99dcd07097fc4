"""Python's usual way, for bench/bench.lua: requests.Session (keep-alive) + json.

    /usr/bin/python3 bench/requests_client.py URL COUNT

Times COUNT GET+decode rounds after one warm-up and prints one line of
key=value pairs, like bench/client.lua. Debian's python3-requests.
"""
import json
import sys
import time

import requests


def main():
    url, count = sys.argv[1], int(sys.argv[2])
    session = requests.Session()
    session.headers["Authorization"] = "Bearer bench"

    def get():
        response = session.get(url)
        response.raise_for_status()
        return json.loads(response.content)

    get()
    start = time.monotonic()
    for _ in range(count):
        get()
    print(f"requests={count} seconds={time.monotonic() - start:.6f}")


if __name__ == "__main__":
    main()
