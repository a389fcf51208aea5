#!/usr/bin/env python3
"""Peer: the asyncio docs "wget" example (print_http_headers), with async/await.

open_connection, write `GET / HTTP/1.0` + Host, readline() until the blank line
that ends the head, close + wait_closed; one Semaphore(C) and one gather() over
all hosts. Adapted from the shared peer harness's py_asyncio_wget.py (same
algorithm and output contract, so figures compare with that harness).

usage: py_asyncio_wget.py URLS_FILE CONCURRENCY [--uvloop] [--timeout S]
Last stdout line: RESULT ok=<n> fail=<n> headers=<n> elapsed=<s> errors=<k:v,...>
"""
import argparse
import asyncio
import collections
import time
import urllib.parse


async def fetch_headers(url, sem, timeout):
    u = urllib.parse.urlsplit(url)
    async with sem:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(u.hostname, u.port or 80)
            try:
                writer.write(f"GET {u.path or '/'} HTTP/1.0\r\nHost: {u.hostname}\r\n\r\n".encode("latin-1"))
                headers = []
                while True:  # bounded by the timeout and by EOF
                    line = await reader.readline()
                    if not line or line in (b"\r\n", b"\n"):
                        break
                    headers.append(line.decode("latin-1").rstrip())
            finally:
                writer.close()
                try:
                    await writer.wait_closed()
                except OSError:
                    pass
            return headers


async def run(urls, conc, timeout):
    sem = asyncio.Semaphore(conc)
    return await asyncio.gather(*(fetch_headers(u, sem, timeout) for u in urls), return_exceptions=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("urls_file")
    ap.add_argument("concurrency", type=int)
    ap.add_argument("--uvloop", action="store_true")
    ap.add_argument("--timeout", type=float, default=30.0)
    a = ap.parse_args()
    with open(a.urls_file) as f:
        urls = [line.strip() for line in f if line.strip()]
    if a.uvloop:
        import uvloop
        uvloop.install()
    t0 = time.perf_counter()
    results = asyncio.run(run(urls, a.concurrency, a.timeout))
    elapsed = time.perf_counter() - t0
    ok = fail = nhdr = 0
    errors = collections.Counter()
    for r in results:
        if isinstance(r, BaseException):
            fail += 1
            errors[type(r).__name__] += 1
        elif r and r[0].startswith("HTTP/1.") and r[0].split()[1:2] == ["200"]:
            ok += 1
            nhdr += len(r) - 1
        else:
            fail += 1
            errors["bad-status" if r else "empty"] += 1
    err = ",".join(f"{k}:{v}" for k, v in errors.most_common()) or "-"
    print(f"RESULT ok={ok} fail={fail} headers={nhdr} elapsed={elapsed:.3f} errors={err}")


if __name__ == "__main__":
    main()
