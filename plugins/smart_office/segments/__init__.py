"""Customer segments: attributes the partner owns about its customers, kept in `ops.customer_attributes`.

`attributes` says what a valid attribute is, `store` reads and writes the table, `csv_file` is the CSV the
partner edits (`smart-office segments export` / `import`), `cli` the `smart-office segments` command. dbt reads
the table (`stg_ops__customer_attributes`) into `dim_customers` and `dim_customer_segments`; docs/segments.md.
"""
