"""The dlt side of `bench/peer_dlt.py`: what a dlt user would write to land the same Graph security data.

Runs only in the benchmark's own virtualenv (dlt[postgres] and msal, never the project's dependencies), as

    <dlt-venv>/bin/python bench/peer_dlt_pipeline.py --tenants-file F --as-of ISO --run first|seed|daily [--tuned]
        [--tenants-per-run N] [--alert-days N]

with its working directory holding `.dlt/secrets.toml` (written 0600 by the benchmark: the partner app's
client id and secret, a refresh token of its own, the Postgres credentials) and `.dlt/config.toml`.

Idiomatic dlt: `rest_api_resources` per customer tenant (the client's base URL and auth are per tenant), the
security collections as resources with `dlt.sources.incremental` (alerts_v2 and incidents on
`lastUpdateDateTime`, secureScores on `createdDateTime`) inserted into `$filter` through
`{incremental.start_value}`, `@odata.nextLink` followed by the JSONLink paginator, merge on the record's key,
the tenants in one `@dlt.source` run in chunks of `--tenants-per-run` (default: all in one run).
secureScoreControlProfiles (current state, no cursor) are read on the first run only: the project reads them
weekly, so its daily run does not either.

Tokens the way a dlt user of the Secure Application Model gets them: msal's ConfidentialClientApplication per
customer tenant authority, `acquire_token_by_refresh_token` with the partner's refresh token, inside a custom
`AuthConfigBase` so a tenant's token is fetched when its first request goes out (not all up front). The
emulator's CA is trusted through REQUESTS_CA_BUNDLE (msal and dlt both send with requests).

`--tuned`: what the dlt docs suggest for speed — resources `parallelized`, more extract workers, two
normalize processes (this machine has two cores), nested data kept as JSON (no child tables).

Prints one JSON line: rows loaded per table, timings per step, token requests, peak RSS of this process.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import threading
import time
from datetime import datetime, timedelta
from typing import Any

import dlt
import msal
from dlt.common.configuration import configspec
from dlt.sources.helpers.rest_client.auth import AuthConfigBase
from dlt.sources.rest_api import rest_api_resources

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
# What Defender keeps, as the project's first run takes (--alert-days: as the benchmark sets it).
ALERT_DAYS = 180
SCORE_DAYS = 90  # what Graph keeps of secureScores


def odata_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class PartnerTokens:
    """One msal application per customer tenant (msal binds an application to one authority)."""

    def __init__(self, identity: str, client_id: str, client_secret: str, refresh_token: str) -> None:
        self.identity = identity.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_token = refresh_token
        self.requests = 0
        self._lock = threading.Lock()

    def token(self, tenant_id: str) -> str:
        app = msal.ConfidentialClientApplication(
            self.client_id,
            client_credential=self.client_secret,
            authority=f"{self.identity}/{tenant_id}",
            # The emulator is not a host msal knows; without this msal would ask login.microsoftonline.com.
            instance_discovery=False,
        )
        result = app.acquire_token_by_refresh_token(self.refresh_token, [GRAPH_SCOPE])
        with self._lock:
            self.requests += 2  # the tenant's OpenID configuration, then the token
        if "access_token" not in result:
            raise RuntimeError(f"no token for {tenant_id}: {result.get('error')} {result.get('error_codes')}")
        return str(result["access_token"])


@configspec
class MsalTenantAuth(AuthConfigBase):
    """Bearer auth whose token is fetched on the tenant's first request and reused for the rest."""

    tenant_id: str = None

    def __init__(self, tenant_id: str, tokens: PartnerTokens) -> None:
        self.tenant_id = tenant_id
        self._tokens = tokens
        self._token: str | None = None
        self._lock = threading.Lock()
        self.resolve()

    def __deepcopy__(self, memo: dict[int, Any]) -> MsalTenantAuth:
        # rest_api deep-copies its configuration, auth included; the copies must share the one token.
        return self

    def __call__(self, request: Any) -> Any:
        with self._lock:
            if self._token is None:
                self._token = self._tokens.token(self.tenant_id)
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request


def tenant_config(
    tenant_id: str,
    index: int,
    graph: str,
    auth: MsalTenantAuth,
    as_of: datetime,
    first: bool,
    tuned: bool,
    alert_days: int = ALERT_DAYS,
    score_days: int = SCORE_DAYS,
) -> dict[str, Any]:
    """The rest_api configuration of one customer tenant; resource names carry the tenant's index so each
    keeps its own incremental state, table names are shared."""
    resources: list[dict[str, Any]] = [
        {
            "name": f"alerts_v2_{index}",
            "table_name": "alerts_v2",
            "primary_key": "id",
            "endpoint": {
                "path": "security/alerts_v2",
                "params": {"$filter": "lastUpdateDateTime gt {incremental.start_value}"},
                "incremental": {
                    "cursor_path": "lastUpdateDateTime",
                    "initial_value": odata_time(as_of - timedelta(days=alert_days)),
                },
            },
        },
        {
            "name": f"incidents_{index}",
            "table_name": "incidents",
            "primary_key": "id",
            "endpoint": {
                "path": "security/incidents",
                "params": {"$filter": "lastUpdateDateTime gt {incremental.start_value}"},
                "incremental": {
                    "cursor_path": "lastUpdateDateTime",
                    "initial_value": odata_time(as_of - timedelta(days=alert_days)),
                },
            },
        },
        {
            "name": f"secure_scores_{index}",
            "table_name": "secure_scores",
            "primary_key": "id",
            "endpoint": {
                "path": "security/secureScores",
                "params": {"$filter": "createdDateTime gt {incremental.start_value}"},
                "incremental": {
                    "cursor_path": "createdDateTime",
                    "initial_value": odata_time(as_of - timedelta(days=score_days)),
                },
            },
        },
    ]
    if first:
        resources.append(
            {
                "name": f"control_profiles_{index}",
                "table_name": "secure_score_control_profiles",
                # A profile's id is the control's name, the same in every tenant.
                "primary_key": ["azureTenantId", "id"],
                "endpoint": {"path": "security/secureScoreControlProfiles"},
            }
        )
    return {
        "client": {
            "base_url": graph.rstrip("/") + "/v1.0/",
            "auth": auth,
            "paginator": {"type": "json_link", "next_url_path": "['@odata.nextLink']"},
        },
        "resource_defaults": {
            "write_disposition": "merge",
            "endpoint": {"data_selector": "value"},
            **({"parallelized": True} if tuned else {}),
        },
        "resources": resources,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants-file", required=True)
    parser.add_argument("--as-of", required=True)
    # `seed`: a first run that only sets the incremental state — the last day of each collection, no control
    # profiles — so a daily run can be measured at sizes where dlt's full first run takes hours.
    parser.add_argument("--run", choices=("first", "seed", "daily"), required=True)
    parser.add_argument("--tuned", action="store_true")
    parser.add_argument("--pipelines-dir", required=True)
    # dlt's memory in one run grows with the tenants (its extract keeps pages of many resources in flight);
    # past a few hundred tenants a dlt user runs them in chunks (0: all in one run).
    parser.add_argument("--tenants-per-run", type=int, default=0)
    # The first run's alert history, as the project's SMART_OFFICE_ALERTS_INITIAL_DAYS sets it for its side.
    parser.add_argument("--alert-days", type=int, default=ALERT_DAYS)
    args = parser.parse_args()
    with open(args.tenants_file) as handle:
        tenants = json.load(handle)
    as_of = datetime.fromisoformat(args.as_of)
    first = args.run == "first"
    history = 1 if args.run == "seed" else None
    tokens = PartnerTokens(
        dlt.config["partner.identity"],
        dlt.secrets["partner.client_id"],
        dlt.secrets["partner.client_secret"],
        dlt.secrets["partner.refresh_token"],
    )
    graph = dlt.config["partner.graph"]

    @dlt.source(name="partner_security", max_table_nesting=0 if args.tuned else None)
    def partner_security(start: int, chunk: list[str]) -> Any:
        # Resource names carry the tenant's place in the whole list, so its incremental state is the same
        # whichever run of chunks it falls in.
        for index, tenant in enumerate(chunk, start):
            auth = MsalTenantAuth(tenant, tokens)
            yield from rest_api_resources(
                tenant_config(
                    tenant,
                    index,
                    graph,
                    auth,
                    as_of,
                    first,
                    args.tuned,
                    history or args.alert_days,
                    history or SCORE_DAYS,
                )
            )

    pipeline = dlt.pipeline(
        pipeline_name="peer_dlt_tuned" if args.tuned else "peer_dlt",
        destination="postgres",
        dataset_name="graph_security",
        pipelines_dir=args.pipelines_dir,
    )
    size = args.tenants_per_run or max(1, len(tenants))
    steps = dict.fromkeys(("extract_s", "normalize_s", "load_s"), 0.0)
    rows: dict[str, int] = {}
    started = time.perf_counter()
    for start in range(0, len(tenants), size):
        mark = time.perf_counter()
        pipeline.extract(partner_security(start, tenants[start : start + size]))
        steps["extract_s"] += time.perf_counter() - mark
        mark = time.perf_counter()
        normalize_info = pipeline.normalize()
        steps["normalize_s"] += time.perf_counter() - mark
        mark = time.perf_counter()
        pipeline.load()
        steps["load_s"] += time.perf_counter() - mark
        for table, n in normalize_info.row_counts.items():
            if not table.startswith("_dlt"):
                rows[table] = rows.get(table, 0) + n
    wall = time.perf_counter() - started
    print(
        json.dumps(
            {
                "wall_s": wall,
                **steps,
                "rows_by_table": rows,
                "rows": sum(n for t, n in rows.items() if "__" not in t),
                "token_requests": tokens.requests,
                "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                "children_max_rss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
            }
        )
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
