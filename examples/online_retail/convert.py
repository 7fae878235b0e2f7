"""Convert the UCI Online Retail invoice lines into exports in the pipeline's contract.

Reads the two Parquet copies of the UCI data (Online Retail II, 2009-12 to 2010-11, and Online
Retail, 2010-12 to 2011-12), keeps the lines with a customer id, and writes:

- `customers.parquet`: one row per customer: `customer_id`, `signup_at` (the first invoice in
  the data, a refund included: the shop's history before 2009-12-01 is not in it), `country`
  (the country of the customer's first invoice). No cancellation date: churn here is
  inactivity.
- `purchases.parquet`: one row per invoice: `customer_id`, `timestamp`, `amount` (the sum of
  quantity x unit price over its lines, in GBP), `status` ("paid"; "refunded" for a
  cancellation invoice, whose number starts with "C", with the amount refunded), `kind`
  ("order").

There is no support, survey or product-usage data: the pipeline runs on purchases alone.

    python examples/online_retail/convert.py [--source DIR] [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parents[1].parent / "shared" / "data" / "online_retail"
FIRST = "online_retail_II_2009_2010.parquet"  # the "Year 2009-2010" sheet
SECOND = "online_retail_2010_2011.parquet"  # from 2010-12-01 on; overlaps the first's end
SECOND_FROM = "2010-12-01"

# Both sheets as one table of lines, in the second's column names; the first is cut where the
# second starts (the same invoices appear in both for 2010-12-01 to 2010-12-09).
LINES = f"""
SELECT InvoiceNo AS invoice, CAST(InvoiceDate AS TIMESTAMP) AS invoiced_at, Quantity AS quantity,
       UnitPrice AS price, CAST(CAST(CustomerID AS BIGINT) AS VARCHAR) AS customer_id, Country
FROM read_parquet($second)
WHERE CustomerID IS NOT NULL
UNION ALL
SELECT Invoice, CAST(InvoiceDate AS TIMESTAMP), Quantity, Price,
       CAST("Customer ID" AS VARCHAR), Country
FROM read_parquet($first)
WHERE "Customer ID" IS NOT NULL AND CAST(InvoiceDate AS TIMESTAMP) < TIMESTAMP '{SECOND_FROM}'
"""

# One row per invoice; two invoices of one customer in the same minute are one purchase.
PURCHASES = """
SELECT customer_id, invoiced_at AS timestamp,
       round(abs(sum(quantity * price)), 2) AS amount,
       CASE WHEN bool_and(starts_with(invoice, 'C')) THEN 'refunded' ELSE 'paid' END AS status,
       'order' AS kind
FROM lines
GROUP BY customer_id, invoiced_at, starts_with(invoice, 'C')
HAVING sum(quantity * price) <> 0
ORDER BY timestamp, customer_id, status
"""

CUSTOMERS = """
SELECT customer_id, min(invoiced_at) AS signup_at, arg_min(Country, invoiced_at) AS country
FROM lines
GROUP BY customer_id
HAVING bool_or(NOT starts_with(invoice, 'C'))
ORDER BY customer_id
"""


def convert(source: Path, out: Path) -> dict[str, int]:
    """Write the exports into `out`; returns rows per file."""
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.sql("SET TimeZone = 'UTC'")
    files = {"first": str(source / FIRST), "second": str(source / SECOND)}
    con.execute("CREATE TABLE lines AS " + LINES, files)
    con.sql("CREATE TABLE customers AS " + CUSTOMERS)
    # Customers who only ever cancelled have no first purchase: their refunds are left out.
    con.sql("CREATE TABLE purchases AS " + PURCHASES)
    con.sql("DELETE FROM purchases WHERE customer_id NOT IN (SELECT customer_id FROM customers)")
    rows = {}
    for name in ("customers", "purchases"):
        path = out / f"{name}.parquet"
        con.sql(f"COPY {name} TO '{path}' (FORMAT parquet, COMPRESSION zstd)")
        rows[name] = con.sql(f"SELECT count(*) FROM {name}").fetchall()[0][0]
    return rows


def main(argv: list[str] | None = None) -> None:
    """CLI: convert, then print the rows written."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SOURCE, help="the UCI Parquet files")
    parser.add_argument("--out", type=Path, default=HERE / "data", help="where exports go")
    args = parser.parse_args(argv)
    for name, count in convert(args.source, args.out).items():
        print(f"{name}: {count:,} rows")


if __name__ == "__main__":
    main()
