"""The segments CSV the partner edits: one row per customer, one column per attribute.

```
tenant_id,company_name,service_model,industry,contract_tier,seat_band,region
1f0c…,Contoso Ltd,managed,healthcare,gold,,emea
```

`export` writes every customer discovery has listed (and any other tagged tenant), the well-known attributes
always as columns, then every other attribute in use. `import` reads it back: a filled cell sets that
attribute, an empty cell removes it, a column that is not there and a customer that is not listed are left as
they are; `company_name` is for the reader and ignored. A file with any bad row changes nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from smart_office.segments.attributes import (
    RESERVED_COLUMNS,
    WELL_KNOWN_KEYS,
    Attribute,
    InvalidAttributeError,
    check_key,
    check_value,
    parse_tenant,
)
from smart_office.segments.store import StoredAttribute

MAX_ROWS = 100_000


class SegmentsFileError(ValueError):
    """A segments CSV that cannot be imported: the first problem, naming its row, and how many others."""


@dataclass(frozen=True, slots=True)
class Changes:
    """What a file asks for."""

    write: list[Attribute] = field(default_factory=list)
    remove: list[tuple[str, str]] = field(default_factory=list)
    tenants: int = 0


def render(attributes: Sequence[StoredAttribute], customers: Mapping[str, str | None]) -> str:
    """The CSV text for these attributes, with a row for every customer in `customers` too."""
    names = dict(customers)
    values: dict[str, dict[str, str]] = {tenant: {} for tenant in customers}
    for attribute in attributes:
        values.setdefault(attribute.tenant_id, {})[attribute.key] = attribute.value
        if names.get(attribute.tenant_id) is None:
            names[attribute.tenant_id] = attribute.company_name
    extra = sorted({key for row in values.values() for key in row} - set(WELL_KNOWN_KEYS))
    columns = [*RESERVED_COLUMNS, *WELL_KNOWN_KEYS, *extra]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    # By name, customers discovery has not named last.
    for tenant in sorted(values, key=lambda t: (not names.get(t), (names.get(t) or "").lower(), t)):
        row = values[tenant]
        writer.writerow([tenant, names.get(tenant) or "", *(row.get(key, "") for key in columns[2:])])
    return out.getvalue()


def write(path: Path, attributes: Sequence[StoredAttribute], customers: Mapping[str, str | None]) -> int:
    """Write the CSV to `path`; returns the customers (rows) written."""
    text = render(attributes, customers)
    path.write_text(text, encoding="utf-8")
    return text.count("\n") - 1


def parse(text: str, source: str) -> Changes:
    """The changes a CSV asks for, or SegmentsFileError naming the first bad row of `source`."""
    problems: list[str] = []
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    header = next(reader, None)
    if not header or not any(cell.strip() for cell in header):
        raise SegmentsFileError(f"{source}: empty file (expected a header row starting with tenant_id)")
    columns = [cell.strip().lower() for cell in header]
    if "tenant_id" not in columns:
        raise SegmentsFileError(f"{source} row 1: no tenant_id column")
    keys: dict[int, str] = {}
    for index, column in enumerate(columns):
        if column in RESERVED_COLUMNS:
            continue
        try:
            key = check_key(header[index])
        except InvalidAttributeError as exc:
            problems.append(f"row 1, column {index + 1}: {exc}")
            continue
        if key in keys.values():
            problems.append(f"row 1: column {key} appears twice")
        keys[index] = key
    if columns.count("tenant_id") > 1:
        problems.append("row 1: column tenant_id appears twice")
    tenant_column = columns.index("tenant_id")

    write_list: list[Attribute] = []
    remove_list: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(_rows(reader, problems), start=2):
        if number > MAX_ROWS + 1:
            problems.append(f"row {number}: more than {MAX_ROWS:,} customers in one file")
            break
        if not any(cell.strip() for cell in row):
            continue  # blank lines, as spreadsheets leave them
        if len(row) > len(columns):
            problems.append(f"row {number}: {len(row)} cells, the header has {len(columns)}")
            continue
        row = row + [""] * (len(columns) - len(row))
        try:
            tenant = parse_tenant(row[tenant_column])
        except InvalidAttributeError as exc:
            problems.append(f"row {number}: tenant_id {exc}")
            continue
        if tenant in seen:
            problems.append(f"row {number}: tenant {tenant} is also on row {seen[tenant]}")
            continue
        seen[tenant] = number
        for index, key in keys.items():
            cell = row[index].strip()
            if not cell:
                remove_list.append((tenant, key))
                continue
            try:
                write_list.append(Attribute(tenant, key, check_value(key, cell)))
            except InvalidAttributeError as exc:
                problems.append(f"row {number}: {exc}")
    if problems:
        more = (
            f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})"
            if len(problems) > 1
            else ""
        )
        raise SegmentsFileError(f"{source} {problems[0]}{more}")
    return Changes(write=write_list, remove=remove_list, tenants=len(seen))


def _rows(reader: Iterator[list[str]], problems: list[str]) -> Iterator[list[str]]:
    """The data rows; a row the csv module cannot read (a cell over its size limit, a broken quote) ends the
    file with a problem naming it."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            problems.append(f"row {reader.line_num}: not readable as CSV ({exc})")  # type: ignore[attr-defined]
            return
        yield row


def read(path: Path) -> Changes:
    """Parse the CSV at `path`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SegmentsFileError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise SegmentsFileError(f"{path}: not UTF-8 text (save the CSV as UTF-8)") from None
    except OSError as exc:
        raise SegmentsFileError(f"{path}: {exc.strerror}") from None
    return parse(text, str(path))
