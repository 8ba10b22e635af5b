"""Throughput of the emulator's Graph alerts_v2 endpoint: run `python bench/emulator_throughput.py`.

Starts an emulator (its own process), picks the customer with the most seats that the partner may read, and
pages through its alerts with `$top=1000` from this one client process over verified HTTPS (requests with a
keep-alive session trusting the emulator's CA), following `@odata.nextLink` to the end, several times. The
first pass renders alerts (cold caches); later passes are served from the rendered-bytes cache.

Prints, per pass: pages/s, MB/s, and the server's CPU time per page (user+system ticks of the emulator process
from /proc/<pid>/stat, before and after) — that figure includes TLS, uvicorn and the kernel's share of sending
~4 MB. Then, for the same pages served in-process (no sockets, no TLS), the CPU per page of the Graph service
itself: routing, bearer check, paging and assembling the body from cached bytes.
Throttling is switched off for the run (SMART_OFFICE_EMULATOR_LIMITS), since Microsoft's 150 requests/minute
would otherwise be what is measured.
A benchmark script, not a test: numbers vary with the machine and its load.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import msal
import orjson
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emulator.launcher import start_emulator

_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (fields 14 and 15 of /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _session(ca_bundle: str) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = ca_bundle
    return session


def _pick_tenant(session: requests.Session, admin: str) -> dict:
    rows = session.get(f"{admin}/portfolio/customers", timeout=60).json()["customers"]
    readable = [r for r in rows if r["can_read_security"] and r["baked_fault"] is None]
    return max(readable, key=lambda r: r["seats"])


def _token(endpoints: dict, session: requests.Session, tenant: str) -> str:
    credentials = session.post(f"{endpoints['admin']}/partner-credentials", timeout=60).json()
    app = msal.ConfidentialClientApplication(
        credentials["client_id"],
        client_credential=credentials["client_secret"],
        authority=f"{endpoints['identity']}/{tenant}",
        instance_discovery=False,
        http_client=session,
    )
    result = app.acquire_token_by_refresh_token(
        credentials["refresh_token"], ["https://graph.microsoft.com/.default"]
    )
    return result["access_token"]


def _one_pass(session: requests.Session, url: str, token: str) -> tuple[int, int, int]:
    """(pages, bytes, alerts) for one walk of the collection."""
    pages = size = alerts = 0
    next_url: str | None = url
    headers = {"Authorization": f"Bearer {token}", "Prefer": "include-unknown-enum-members"}
    while next_url:
        response = session.get(next_url, headers=headers, timeout=120)
        response.raise_for_status()
        body = orjson.loads(response.content)
        pages += 1
        size += len(response.content)
        alerts += len(body["value"])
        next_url = body.get("@odata.nextLink")
    return pages, size, alerts


def _in_process(args: argparse.Namespace, tenant_id: str, folder: Path) -> None:
    """CPU per page of the Graph service alone, through `call_internal` (what a request costs before TLS)."""
    import asyncio

    from emulator.config import SERVICES, EmulatorConfig, parse_instant
    from emulator.graph.app import build_app
    from emulator.server import build_context

    config = EmulatorConfig(
        now=parse_instant(args.now), state_dir=folder, tenants=args.tenants, seed=args.seed
    )
    ctx = build_context(config, {name: 1 for name in SERVICES}, str(folder / "ca.pem"))
    service = build_app(ctx)
    now = ctx.clock.timestamp()
    token = ctx.tokens.mint(
        {
            "aud": "https://graph.microsoft.com",
            "iss": f"https://sts.windows.net/{tenant_id}/",
            "tid": tenant_id,
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "appid": "bench",
            "roles": ["SecurityAlert.Read.All"],
        }
    )
    headers = [(b"authorization", f"Bearer {token}".encode())]

    parsing = (
        0.0  # the walk parses each page to find its nextLink; that is the client's cost, not the service's
    )

    async def walk() -> int:
        nonlocal parsing
        pages, path = 0, f"/v1.0/security/alerts_v2?$top={args.top}"
        while path:
            status, _, body = await service.call_internal("GET", path, headers=headers)
            assert status == 200, body[:300]
            pages += 1
            started = time.process_time()
            link = orjson.loads(body).get("@odata.nextLink")
            parsing += time.process_time() - started
            path = link[len(ctx.endpoints.graph) :] if link else ""
        return pages

    asyncio.run(walk())  # render once: what follows is served from the caches
    parsing = 0.0
    started = time.process_time()
    pages = asyncio.run(walk())
    cpu = time.process_time() - started - parsing
    print(
        f"  in-process, no TLS     Graph service alone: {cpu * 1000 / pages:5.1f} ms CPU/page (cached)",
        flush=True,
    )
    ctx.state.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--tenants", type=int, default=25)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--now", default="2026-11-02T09:00:00Z")
    parser.add_argument("--top", type=int, default=1000)
    parser.add_argument("--passes", type=int, default=4)
    args = parser.parse_args()

    os.environ["SMART_OFFICE_EMULATOR_LIMITS"] = orjson.dumps(
        {"graph_security_requests": 0, "graph_secure_score_requests": 0, "graph_secure_score_concurrency": 0}
    ).decode()
    with tempfile.TemporaryDirectory(prefix="emulator-bench-") as folder:
        process = start_emulator(
            tenants=args.tenants, seed=args.seed, now=args.now, state_dir=Path(folder) / "state"
        )
        with process:
            endpoints = process.endpoints
            pid = int(endpoints["pid"])
            session = _session(endpoints["ca_bundle"])
            tenant = _pick_tenant(session, endpoints["admin"])
            token = _token(endpoints, session, tenant["tenant_id"])
            url = f"{endpoints['graph']}/v1.0/security/alerts_v2?$top={args.top}"
            print(
                f"emulator pid {pid}; tenant {tenant['company_name']} ({tenant['seats']} seats); "
                f"alerts_v2 $top={args.top}; one client process, keep-alive HTTPS",
                flush=True,
            )
            for number in range(1, args.passes + 1):
                cpu_before, started = _cpu_seconds(pid), time.perf_counter()
                pages, size, alerts = _one_pass(session, url, token)
                elapsed, cpu = time.perf_counter() - started, _cpu_seconds(pid) - cpu_before
                label = "cold (rendering)" if number == 1 else "cached"
                print(
                    f"  pass {number} {label:<17} {pages:>3} pages, {alerts:>6} alerts, {size / 1e6:7.1f} MB: "
                    f"{pages / elapsed:6.1f} pages/s, {size / 1e6 / elapsed:6.1f} MB/s, "
                    f"server CPU {cpu * 1000 / pages:6.1f} ms/page ({size / pages / 1e6:.1f} MB/page)",
                    flush=True,
                )
            _in_process(args, tenant["tenant_id"], Path(folder) / "in-process")


if __name__ == "__main__":
    main()
