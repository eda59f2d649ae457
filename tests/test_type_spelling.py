"""One Glue type parser, two spellings: the types the tables use come out as Athena's view
definitions and DuckDB write them, nested ones included; an unknown type is named."""

from __future__ import annotations

import pytest

from etlgen.catalog.views import presto_type
from etlgen.query.local import duckdb_type

ERRORS = "array<struct<field:string,kind:string,message:string>>"


@pytest.mark.parametrize(("glue", "athena", "duckdb"), [
    ("string", "varchar", "VARCHAR"),
    ("decimal(9, 2)", "decimal(9,2)", "DECIMAL(9,2)"),
    ("timestamp", "timestamp", "TIMESTAMP"),
    (ERRORS, "array(row(field varchar, kind varchar, message varchar))",
     'STRUCT("field" VARCHAR, "kind" VARCHAR, "message" VARCHAR)[]'),
    ("struct<a:array<bigint>,b:date>", "row(a array(bigint), b date)",
     'STRUCT("a" BIGINT[], "b" DATE)'),
])
def test_each_engine_spells_the_glue_type(glue: str, athena: str, duckdb: str) -> None:
    assert (presto_type(glue), duckdb_type(glue)) == (athena, duckdb)


def test_a_type_without_a_spelling_is_named() -> None:
    with pytest.raises(ValueError, match="no DuckDB type for the Glue type 'map<string,int>'"):
        duckdb_type("map<string,int>")
    with pytest.raises(ValueError, match="no Athena type for the Glue type 'tinyint'"):
        presto_type("tinyint")
