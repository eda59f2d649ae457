"""The queryable table: its columns and partition keys (`tables`), the Glue types of the
row schema's columns (`columns`), the views readers query over the storage and commits
tables (`views`), and what a row-schema change does to them (`evolution`).

Pure and free of troposphere, so the config checks, the template and `etlgen validate` /
`etlgen diff` share one description of the table.
"""
