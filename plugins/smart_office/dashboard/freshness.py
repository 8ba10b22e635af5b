"""Whether a customer's dataset is behind the latest run, and why, in one sentence."""

from __future__ import annotations

from typing import Any

import pandas as pd

from smart_office.dashboard import formatting as fmt


def stale_dataset_message(row: Any, token_state: str | None) -> str | None:
    """Why one of a customer's datasets is behind the last run, or None when it is current.

    :param row: a row of `queries.customer.customer_freshness` (fct_tenant_freshness, whose `is_stale` says
        whether the latest run loaded the dataset).
    :param token_state: the customer's latest token outcome: a token failure stops every dataset, and the
        datasets' own rows then still show their last (successful) attempt.
    """
    words = fmt.dataset(row.dataset)
    name = words[:1].upper() + words[1:]
    if row.last_loaded_at is None or pd.isna(row.last_loaded_at):
        return f"{name} have never been loaded for this customer."
    if row.last_outcome == "loaded" and not row.is_stale:
        return None
    if row.last_outcome != "loaded":
        why = fmt.reason(row.last_state)
    elif token_state and token_state != "ok":
        why = fmt.reason(token_state)
    else:
        why = "not attempted"
    return f"{name} were not loaded by the last run ({why}); shown as of {fmt.timestamp(row.last_loaded_at)}."
