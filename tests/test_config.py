"""pipeline.yaml loading: defaults, and one clear located line for every mistake."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import sys
import types
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from etlgen.cli import main
from etlgen.config import load_config
from etlgen.config.schema import PIPELINE_SCHEMA, schema_json
from etlgen.errors import ConfigError
from etlgen.model import DatePartition, PipelineConfig

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = Path(__file__).resolve().parent / "configs"
ROW_SCHEMA = ROOT / "schemas" / "transactions.schema.json"
HEAD = "name: demo\nschema: rows.json\n"  # lines 1-2 of every broken config below

SECTIONS = {
    field.name: field.default_factory()  # type: ignore[misc]
    for field in dataclasses.fields(PipelineConfig)
    if field.default_factory is not dataclasses.MISSING
}
DEFAULT_TAGS = PipelineConfig.__dataclass_fields__["tags"].default

# (id, YAML text, expected text in the message, expected line)
BROKEN: list[tuple[str, str, str, int]] = [
    ("above-maximum", HEAD + "processing:\n  max_concurrency: 80\n",
     "processing.max_concurrency: 80 is greater than the maximum of 40", 4),
    ("below-minimum", HEAD + "functions:\n  memory_mb: 64\n",
     "functions.memory_mb: 64 is less than the minimum of 128", 4),
    ("timeout-over-lambda-limit", HEAD + "functions:\n  timeout_seconds: 901\n",
     "functions.timeout_seconds: 901 is greater than the maximum of 900", 4),
    ("too-many-chunks", HEAD + "processing:\n  max_chunks: 993\n",
     "processing.max_chunks: 993 is greater than the maximum of 992", 4),
    ("chunks-over-the-history-limit", HEAD + "processing:\n  max_chunks: 729\n",
     "processing.max_chunks: 729 is more than 728, the most chunks whose events", 4),
    ("chunks-over-the-history-limit-with-retries",
     HEAD + "processing:\n  max_chunks: 500\nretries:\n  max_attempts: 10\n",
     "processing.max_chunks: 500 is more than 449", 4),
    ("too-many-retries", HEAD + "retries:\n  max_attempts: 11\n",
     "retries.max_attempts: 11 is greater than the maximum of 10", 4),
    ("backoff-below-one", HEAD + "retries:\n  backoff_rate: 0.5\n",
     "retries.backoff_rate: 0.5 is less than the minimum of 1.0", 4),
    ("reject-rate-above-one", HEAD + "output:\n  max_reject_rate: 1.5\n",
     "output.max_reject_rate: 1.5 is greater than the maximum of 1", 4),
    ("runtime-not-offered", HEAD + "functions:\n  runtime: python3.9\n",
     "functions.runtime: 'python3.9' is not allowed: expected one of python3.11, "
     "python3.12, python3.13", 4),
    ("log-retention-not-offered", HEAD + "retention:\n  log_retention_days: 10\n",
     "retention.log_retention_days: 10 is not allowed: expected one of 1, 3, 5, 7, 14, 30", 4),
    ("encoding-not-utf8", HEAD + "input:\n  encoding: latin-1\n",
     "input.encoding: 'latin-1' is not allowed: expected one of utf-8", 4),
    ("text-instead-of-number", HEAD + "processing:\n  max_concurrency: ten\n",
     "processing.max_concurrency: expected a whole number, got the text 'ten'", 4),
    ("boolean-instead-of-text", HEAD + "retries:\n  jitter: yes\n",
     "retries.jitter: expected text, got the boolean true (quote it to keep it as text)", 4),
    ("section-not-a-mapping", HEAD + "input: incoming/\n",
     "input: expected a mapping of keys, got the text 'incoming/'", 3),
    ("unknown-key-with-suggestion", HEAD + "processing:\n  max_concurency: 5\n",
     "processing.max_concurency: unknown key (did you mean max_concurrency?)", 4),
    ("unknown-section-with-suggestion", HEAD + "retry:\n  max_attempts: 2\n",
     "retry: unknown key (did you mean retries?)", 3),
    ("unknown-key-without-suggestion", HEAD + "alerts:\n  colour: red\n",
     "alerts.colour: unknown key (expected one of: email, enabled)", 4),
    ("duplicate-key", HEAD + "processing:\n  max_chunks: 10\n  max_chunks: 20\n",
     "processing.max_chunks: duplicate key (first given at line 4)", 5),
    ("duplicate-section", HEAD + "alerts: {enabled: true}\nalerts: {enabled: false}\n",
     "alerts: duplicate key (first given at line 3)", 4),
    ("yaml-syntax", HEAD + "processing:\n  max_chunks: [1, 2\n",
     "invalid YAML: ", 5),
    ("yaml-bad-indentation", HEAD + "input:\n  prefix: in/\n suffix: .csv\n",
     "invalid YAML: ", 5),
    ("top-level-list", "- name: demo\n", "the top level must be a mapping of settings, got a list",
     1),
    ("missing-name", "schema: rows.json\n", "name: required key is missing", 1),
    ("missing-schema-key", "name: demo\n", "schema: required key is missing", 1),
    ("bad-name-upper-case", "name: Demo_Pipeline\nschema: rows.json\n",
     "name: 'Demo_Pipeline' is not valid: expected 2-20 characters", 1),
    ("bad-name-too-long", "schema: rows.json\nname: a-very-long-pipeline-name\n",
     "name: 'a-very-long-pipeline-name' is not valid: expected 2-20 characters", 2),
    ("prefix-leading-slash", HEAD + "input:\n  prefix: /incoming/\n",
     "input.prefix: '/incoming/' is not valid: expected an S3 key prefix", 4),
    ("prefix-without-trailing-slash", HEAD + "output:\n  rejected_prefix: rejected\n",
     "output.rejected_prefix: 'rejected' is not valid: expected an S3 key prefix", 4),
    ("delimiter-two-characters", HEAD + "input:\n  delimiter: ';;'\n",
     "input.delimiter: ';;' is 2 characters long: expected a single character", 4),
    ("delimiter-quote", HEAD + "input:\n  delimiter: '\"'\n",
     "input.delimiter: the quote character cannot separate fields", 4),
    ("delimiter-newline", HEAD + 'input:\n  delimiter: "\\n"\n',
     "input.delimiter: line feed (LF) cannot separate fields", 4),
    ("email-invalid", HEAD + "alerts:\n  email: ops-at-example.com\n",
     "alerts.email: 'ops-at-example.com' is not valid: expected an e-mail address", 4),
    ("processed-under-incoming", HEAD + "output:\n  processed_prefix: incoming/done/\n",
     "output.processed_prefix: 'incoming/done/' lies under input.prefix 'incoming/' (the "
     "default): outputs written there would trigger the pipeline again", 4),
    ("outputs-share-a-prefix", HEAD + "output:\n  processed_prefix: out/\n"
     "  rejected_prefix: out/bad/\n",
     "output.rejected_prefix: 'out/bad/' lies under output.processed_prefix 'out/': "
     "processed and rejected rows must stay apart", 5),
    ("staging-under-processed", HEAD + "output:\n  staging_prefix: processed/tmp/\n",
     "output.staging_prefix: 'processed/tmp/' lies under output.processed_prefix "
     "'processed/' (the default): staged parts must stay apart from processed and rejected "
     "rows", 4),
    ("staging-under-incoming", HEAD + "output:\n  staging_prefix: incoming/stage/\n",
     "output.staging_prefix: 'incoming/stage/' lies under input.prefix 'incoming/' (the "
     "default): outputs written there would trigger the pipeline again", 4),
    ("incoming-under-rejected", HEAD + "input:\n  prefix: rejected/new/\n",
     "input.prefix: 'rejected/new/' lies under output.rejected_prefix 'rejected/' (the "
     "default): outputs written there would trigger the pipeline again", 4),
    ("rejected-equals-processed", HEAD + "output:\n  rejected_prefix: processed/\n",
     "output.rejected_prefix: 'processed/' equals output.processed_prefix 'processed/' (the "
     "default): processed and rejected rows must stay apart", 4),
    ("memory-too-small-for-chunk", HEAD + "processing:\n  chunk_size_mb: 128\n"
     "functions:\n  memory_mb: 1000\n",
     "functions.memory_mb: 1000 MB is too little for processing.chunk_size_mb 128: need at "
     "least 1024 (8 x the chunk size, because the process step holds the chunk", 6),
    ("default-memory-too-small-for-chunk", HEAD + "processing:\n  chunk_size_mb: 512\n",
     "functions.memory_mb: 3072 MB is too little for processing.chunk_size_mb 512", 4),
    ("too-many-tags", HEAD + "tags:\n" + "".join(f"  K{i}: v\n" for i in range(51)),
     "tags: 51 entries given, at most 50 are allowed", 4),
    ("tag-key-too-long", HEAD + "tags:\n  " + "k" * 129 + ": v\n",
     "is 129 characters long, at most 128 are allowed", 4),
    ("tag-key-reserved", HEAD + "tags:\n  Team: a\n  aws:cost: b\n",
     "tags.aws:cost: tag keys starting with 'aws:' are reserved by AWS", 5),
    ("tag-key-bad-character", HEAD + "tags:\n  'cost#center': a\n",
     "tags.cost#center: tag key 'cost#center': AWS tags allow only letters, digits, spaces", 4),
    ("tag-value-too-long", HEAD + "tags:\n  Team: " + "v" * 257 + "\n",
     "tags.Team: 'vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv...' is 257 characters long, at most 256 "
     "are allowed", 4),
    ("tag-value-bad-character", HEAD + "tags:\n  Team: 'a&b'\n",
     "tags.Team: 'a&b' is not valid: AWS tags allow only letters", 4),
    ("tag-value-number", HEAD + "tags:\n  CostCenter: 1234\n",
     "tags.CostCenter: expected text, got the number 1234 (quote it to keep it as text)", 4),
    ("tag-key-not-text", HEAD + "tags:\n  2024: year\n", "tags: key 2024 must be text", 4),
    ("schema-file-missing", "name: demo\nschema: nowhere/rows.json\n",
     "schema: nowhere/rows.json: file not found", 2),
    ("schema-file-invalid-json", "name: demo\nschema: broken.json\n",
     "schema: broken.json:3:1: invalid JSON: Expecting property name enclosed in double quotes",
     2),
    ("schema-not-a-json-schema", "name: demo\nschema: not_schema.json\n",
     "schema: not_schema.json:1:104: /properties/id/minLength: not a valid JSON Schema: -1 is less "
     "than the minimum of 0", 2),
    ("schema-unsupported-keyword", "name: demo\nschema: unsupported.json\n",
     "schema: unsupported.json:1:100: /properties/id/oneOf: keyword 'oneOf' is not supported for a "
     "column", 2),
    # the table: partitions, catalog, storage class
    ("partition-column-not-a-date", HEAD + "output:\n  partition_by:\n    column: amount\n",
     "output.partition_by.column: 'amount' is not a format: date column of the row schema; its "
     "format: date columns: transaction_date", 5),
    ("partition-column-unknown", HEAD + "output:\n  partition_by: {column: booked_on}\n",
     "output.partition_by.column: 'booked_on' is not a column of the row schema; its format: "
     "date columns: transaction_date", 4),
    ("partition-column-without-dates", "name: demo\nschema: no_dates.json\noutput:\n"
     "  partition_by: {column: id}\n",
     "output.partition_by.column: 'id' is not a format: date column of the row schema; it has "
     "no format: date column (partition by ingest_date instead)", 4),
    ("partition-by-unknown-word", HEAD + "output:\n  partition_by: arrival_date\n",
     "output.partition_by: 'arrival_date' is not allowed: expected ingest_date, or a mapping "
     "of column, granularity", 4),
    ("partition-by-without-column", HEAD + "output:\n  partition_by: {granularity: month}\n",
     "output.partition_by.column: required key is missing", 4),
    ("partition-column-not-text", HEAD + "output:\n  partition_by: {column: 5}\n",
     "output.partition_by.column: expected text, got the number 5", 4),
    ("partition-by-number", HEAD + "output:\n  partition_by: 3\n",
     "output.partition_by: expected text or a mapping of keys, got the number 3", 4),
    ("partition-granularity-unknown",
     HEAD + "output:\n  partition_by: {column: transaction_date, granularity: week}\n",
     "output.partition_by.granularity: 'week' is not allowed: expected one of day, month, year",
     4),
    ("partition-by-unknown-key",
     HEAD + "output:\n  partition_by:\n    column: transaction_date\n    every: month\n",
     "output.partition_by.every: unknown key (expected one of: column, granularity)", 6),
    ("csv-with-the-catalog", HEAD + "output:\n  format: csv\n",
     "output.format: csv cannot be read by the catalog table (catalog.enabled, on by default): "
     "the Glue table reads typed Parquet files; use format parquet or set catalog.enabled: "
     "false", 4),
    ("glacier-with-the-catalog", HEAD + "retention:\n  storage_class: GLACIER\n",
     "retention.storage_class: GLACIER: Athena cannot read objects in S3 Glacier Flexible "
     "Retrieval (GLACIER: queries skip them) or S3 Glacier Deep Archive (DEEP_ARCHIVE: queries "
     "fail), so the table would lose every partition older than retention.glacier_after_days "
     "(30)", 4),
    ("deep-archive-with-the-catalog",
     HEAD + "retention:\n  glacier_after_days: 90\n  storage_class: DEEP_ARCHIVE\n",
     "retention.storage_class: DEEP_ARCHIVE: Athena cannot read objects", 5),
    ("storage-class-unknown", HEAD + "retention:\n  storage_class: STANDARD_IA\n",
     "retention.storage_class: 'STANDARD_IA' is not allowed: expected one of GLACIER_IR, "
     "GLACIER, DEEP_ARCHIVE, none", 4),
    ("database-with-a-dash", HEAD + "catalog:\n  database: sales-db\n",
     "catalog.database: 'sales-db' is not valid: expected 1-244 characters: lower-case "
     "letters, digits and '_'", 4),
    ("table-upper-case", HEAD + "catalog:\n  table: Sales\n",
     "catalog.table: 'Sales' is not valid: expected 1-246 characters", 4),
    ("cutoff-below-athena-minimum", HEAD + "catalog:\n  bytes_scanned_cutoff_mb: 5\n",
     "catalog.bytes_scanned_cutoff_mb: 5 is less than the minimum of 10", 4),
    ("input-under-query-results", HEAD + "input:\n  prefix: athena-results/in/\n",
     "input.prefix: 'athena-results/in/' lies under 'athena-results/', where the Athena "
     "workgroup writes query results (catalog.enabled): choose another prefix", 4),
    ("column-named-like-lineage", "name: demo\nschema: lineage_clash.json\n",
     "schema: lineage_clash.json:1:107: /properties/_source_key: column '_source_key' is also "
     "a lineage column (output.lineage): rename the column or set output.lineage: false", 2),
    ("column-named-like-the-partition-key", "name: demo\nschema: key_clash.json\n",
     "/properties/ingest_date: column 'ingest_date' is also a partition key of the table "
     "(output.partition_by): rename the column", 2),
    ("column-upper-case-with-the-catalog", "name: demo\nschema: upper_case.json\n",
     "/properties/Amount: column 'Amount': Glue and Athena column names are lower case (Athena "
     "lower-cases every name in a query): rename it or set catalog.enabled: false", 2),
]

def _row_schema(**columns: dict) -> str:
    return json.dumps({"type": "object", "additionalProperties": False,
                       "properties": columns})


ROW_SCHEMA_FILES = {
    "no_dates.json": _row_schema(id={"type": "string"}),
    "lineage_clash.json": _row_schema(id={"type": "string"}, _source_key={"type": "string"}),
    "key_clash.json": _row_schema(id={"type": "string"}, ingest_date={"type": "string"}),
    "upper_case.json": _row_schema(id={"type": "string"}, Amount={"type": "number"}),
    "broken.json": '{\n  "type": "object",\n}\n',
    "not_schema.json": json.dumps(
        {"type": "object", "additionalProperties": False,
         "properties": {"id": {"type": "string", "minLength": -1}}}
    ),
    "unsupported.json": json.dumps(
        {"type": "object", "additionalProperties": False,
         "properties": {"id": {"type": "string", "oneOf": [{"minLength": 1}]}}}
    ),
}


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copy(ROW_SCHEMA, tmp_path / "rows.json")
    for name, text in ROW_SCHEMA_FILES.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def _errors(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.exit_code == 2
    return str(caught.value).splitlines()


@pytest.mark.parametrize(
    ("text", "expected", "line"), [case[1:] for case in BROKEN], ids=[case[0] for case in BROKEN]
)
def test_broken_config_gives_one_located_line(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, text: str, expected: str, line: int
) -> None:
    (workdir / "pipeline.yaml").write_text(text, encoding="utf-8")
    monkeypatch.chdir(workdir)

    errors = _errors(Path("pipeline.yaml"))

    assert len(errors) == 1, errors
    assert re.match(rf"pipeline\.yaml:{line}:\d+: ", errors[0]), errors[0]
    assert expected in errors[0]


def test_every_problem_is_reported_at_once_in_file_order(workdir: Path) -> None:
    config = workdir / "pipeline.yaml"
    config.write_text(
        "name: Demo\n"
        "schema: rows.json\n"
        "processing:\n"
        "  max_concurrency: 80\n"
        "  chunk_sise_mb: 8\n"
        "functions:\n"
        "  memory_mb: 64\n",
        encoding="utf-8",
    )

    errors = _errors(config)

    assert [error.split(": ")[0] for error in errors] == [
        f"{config}:1:7", f"{config}:4:20", f"{config}:5:3", f"{config}:7:14",
    ]
    assert "did you mean chunk_size_mb?" in errors[2]


def test_empty_file_is_refused(workdir: Path) -> None:
    config = workdir / "pipeline.yaml"
    config.write_text("# nothing here yet\n", encoding="utf-8")

    assert _errors(config) == [
        f"{config}: the file is empty: expected a mapping with at least 'name' and 'schema'"
    ]


def test_missing_file_is_refused(tmp_path: Path) -> None:
    assert _errors(tmp_path / "absent.yaml") == [f"{tmp_path / 'absent.yaml'}: file not found"]


def test_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "pipeline.yaml"
    config.write_bytes(b"name: demo\nschema: caf\xe9.json\n")

    assert _errors(config) == [f"{config}:2:1: is not UTF-8 text"]


def test_error_names_the_file_as_the_user_gave_it(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (workdir / "pipeline.yaml").write_text(HEAD + "processing:\n  max_concurrency: 80\n")
    monkeypatch.chdir(workdir)

    assert _errors(Path("pipeline.yaml")) == [
        "pipeline.yaml:4:20: processing.max_concurrency: 80 is greater than the maximum of 40"
    ]


def test_schema_problems_name_the_schema_file_relative_to_the_config(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (workdir / "conf").mkdir()
    (workdir / "conf" / "p.yaml").write_text("name: demo\nschema: ../unsupported.json\n")
    monkeypatch.chdir(workdir)

    assert _errors(Path("conf/p.yaml")) == [
        "conf/p.yaml:2:9: schema: unsupported.json:1:100: /properties/id/oneOf: keyword 'oneOf' "
        "is not supported for a column"
    ]


@pytest.mark.parametrize(
    "path",
    [ROOT / "pipeline.yaml", *sorted(CONFIGS.glob("*.yaml"))],
    ids=lambda path: path.name,
)
def test_shipped_configs_load(path: Path) -> None:
    config = load_config(path)

    assert config.source == path.resolve()
    assert config.schema_path == ROW_SCHEMA
    assert config.schema == json.loads(ROW_SCHEMA.read_text(encoding="utf-8"))


def test_example_configs_cover_what_other_tests_rely_on() -> None:
    names = {path.stem for path in CONFIGS.glob("*.yaml")}
    assert {"minimal", "all_options", "all_off"} <= names

    all_options = load_config(CONFIGS / "all_options.yaml")
    assert all_options.results_queue.enabled and all_options.alerts.enabled
    assert all_options.alerts.email == "data-ops@example.com"
    given = yaml.safe_load((CONFIGS / "all_options.yaml").read_text(encoding="utf-8"))
    for section, default in SECTIONS.items():
        assert set(given[section]) == set(dataclasses.asdict(default)), section

    all_off = load_config(CONFIGS / "all_off.yaml")
    assert not all_off.results_queue.enabled and not all_off.alerts.enabled
    assert all_off.output.format == "csv"
    assert all_off.functions.architecture == "x86_64"
    assert not all_off.catalog.enabled and not all_off.output.lineage
    assert all_off.retention.storage_class == "none"
    assert all_options.catalog.enabled and all_options.output.lineage
    assert isinstance(all_options.output.partition_by, DatePartition)


def test_minimal_config_gets_the_model_defaults() -> None:
    config = load_config(CONFIGS / "minimal.yaml")

    assert config == PipelineConfig(
        name="minimal",
        source=(CONFIGS / "minimal.yaml").resolve(),
        schema_path=ROW_SCHEMA,
        schema=json.loads(ROW_SCHEMA.read_text(encoding="utf-8")),
    )


def test_root_pipeline_states_the_defaults() -> None:
    config = load_config(ROOT / "pipeline.yaml")

    for section, default in SECTIONS.items():
        assert getattr(config, section) == default
    assert config.tags == DEFAULT_TAGS


def test_loading_is_deterministic_and_frozen() -> None:
    first = load_config(CONFIGS / "all_options.yaml")

    assert load_config(CONFIGS / "all_options.yaml") == first
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.name = "other"  # type: ignore[misc]


def test_tags_keep_yaml_order_and_replace_defaults(workdir: Path) -> None:
    config = workdir / "pipeline.yaml"
    config.write_text(HEAD + "tags:\n  Zeta: z\n  Alpha: a\n  Empty: ''\n", encoding="utf-8")

    assert load_config(config).tags == (("Zeta", "z"), ("Alpha", "a"), ("Empty", ""))


def test_numbers_take_the_model_types_however_written(workdir: Path) -> None:
    config = workdir / "pipeline.yaml"
    config.write_text(
        HEAD + "retries:\n  backoff_rate: 3\nfunctions:\n  memory_mb: 4096.0\n", encoding="utf-8"
    )

    loaded = load_config(config)

    assert loaded.retries.backoff_rate == 3.0 and isinstance(loaded.retries.backoff_rate, float)
    assert loaded.functions.memory_mb == 4096 and isinstance(loaded.functions.memory_mb, int)


def test_schema_path_resolves_relative_to_the_config_not_the_cwd(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (workdir / "sub").mkdir()
    (workdir / "sub" / "p.yaml").write_text("name: demo\nschema: ../rows.json\n")
    monkeypatch.chdir(ROOT)

    assert load_config(workdir / "sub" / "p.yaml").schema_path == (workdir / "rows.json")


def test_cli_reports_a_bad_config_on_one_line_with_exit_code_2(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def never_rendered(*_args: object, **_kwargs: object) -> str:
        raise AssertionError("a config that fails to load must not reach rendering")

    monkeypatch.setitem(sys.modules, "etlgen.render",
                        types.SimpleNamespace(render=never_rendered))
    config = workdir / "pipeline.yaml"
    config.write_text(HEAD + "processing:\n  max_concurency: 5\n", encoding="utf-8")

    code = main(["validate", str(config)])

    captured = capsys.readouterr()
    assert code == 2
    assert captured.err == (
        f"etlgen: {config}:4:3: processing.max_concurency: unknown key "
        "(did you mean max_concurrency?)\n"
    )
    assert "Traceback" not in captured.err and captured.out == ""


def _schema_keys(schema: dict, prefix: str = "") -> dict[str, dict]:
    keys: dict[str, dict] = {}
    for name, child in schema.get("properties", {}).items():
        keys[prefix + name] = child
        if name != "tags":
            keys.update(_schema_keys(child, f"{prefix}{name}."))
    return keys


def test_schema_defaults_equal_the_model_defaults() -> None:
    properties = PIPELINE_SCHEMA["properties"]

    assert set(properties) == {field.name for field in dataclasses.fields(PipelineConfig)} - {
        "source", "schema_path"
    }
    for section, default in SECTIONS.items():
        expected = dataclasses.asdict(default)
        assert properties[section]["default"] == expected, section
        assert set(properties[section]["properties"]) == set(expected), section
        for key, value in expected.items():
            assert properties[section]["properties"][key]["default"] == value, (section, key)
    assert list(properties["tags"]["default"].items()) == list(DEFAULT_TAGS)


def test_every_schema_key_is_described_and_optional_keys_have_defaults() -> None:
    required = set(PIPELINE_SCHEMA["required"])
    for dotted, child in _schema_keys(PIPELINE_SCHEMA).items():
        assert child.get("description"), dotted
        assert dotted in required or "default" in child, dotted
        if child.get("type") == "object" and dotted != "tags":
            assert child["additionalProperties"] is False, dotted


def test_schema_file_is_the_packaged_schema_and_valid() -> None:
    on_disk = (ROOT / "schemas" / "pipeline.schema.json").read_text(encoding="utf-8")

    assert on_disk == schema_json(), "regenerate: python -m etlgen.config.schema > schemas/..."
    Draft202012Validator.check_schema(json.loads(on_disk))


def test_root_pipeline_mentions_and_explains_every_key() -> None:
    text = (ROOT / "pipeline.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)

    for dotted in _schema_keys(PIPELINE_SCHEMA):
        section, _, key = dotted.partition(".")
        assert section in data and (not key or key in data[section]), dotted
    setting_lines = [
        line for line in text.splitlines()
        if re.match(r"^ {0,2}[a-z_]+:", line) and not line.startswith("tags")
    ]
    uncommented = [line for line in setting_lines if "#" not in line
                   and not line.rstrip().endswith(":")]
    assert not uncommented


def test_control_character_is_a_located_yaml_error(workdir: Path) -> None:
    config = workdir / "pipeline.yaml"
    config.write_text(HEAD + "tags:\n  Team: a\x07b\n", encoding="utf-8")

    assert _errors(config) == [
        f"{config}:4:10: invalid YAML: control character U+0007 is not allowed (write it as an "
        "escape inside double quotes)"
    ]


def test_cross_field_rules_still_run_next_to_unrelated_errors(workdir: Path) -> None:
    config = workdir / "pipeline.yaml"
    config.write_text(HEAD + "7: seven\noutput:\n  processed_prefix: incoming/p/\n")

    errors = _errors(config)

    assert [error.split(": ", 1)[1] for error in errors] == [
        "key 7 must be text (quote it)",
        "output.processed_prefix: 'incoming/p/' lies under input.prefix 'incoming/' (the "
        "default): outputs written there would trigger the pipeline again",
    ]


# ----- the table's settings ----------------------------------------------------------

def test_the_catalog_and_partitioning_defaults(workdir: Path) -> None:
    config = workdir / "pipeline.yaml"
    config.write_text(HEAD.replace("demo", "sales-eu"), encoding="utf-8")

    loaded = load_config(config)

    assert (loaded.database_name, loaded.table_name, loaded.rejected_table_name) == (
        "sales_eu", "sales_eu", "sales_eu_rejected")
    assert loaded.catalog.enabled and loaded.catalog.bytes_scanned_cutoff_mb == 10240
    assert (loaded.output.partition_key, loaded.output.partition_setting) == (
        "ingest_date", "ingest_date")
    assert loaded.output.lineage and loaded.retention.storage_class == "GLACIER_IR"


def test_a_date_column_partitions_the_table(workdir: Path) -> None:
    config = workdir / "pipeline.yaml"
    config.write_text(HEAD + "output:\n  partition_by: {column: transaction_date, "
                      "granularity: month}\ncatalog:\n  database: ledger\n  table: tx\n",
                      encoding="utf-8")

    loaded = load_config(config)

    assert loaded.output.partition_by == DatePartition("transaction_date", "month")
    assert (loaded.output.partition_key, loaded.output.partition_setting) == (
        "transaction_date_month", "transaction_date:month")
    assert (loaded.database_name, loaded.table_name) == ("ledger", "tx")
    day = workdir / "day.yaml"
    day.write_text(HEAD + "output:\n  partition_by: {column: transaction_date}\n",
                   encoding="utf-8")
    assert load_config(day).output.partition_key == "transaction_date_day"


@pytest.mark.parametrize("text", [
    # what the catalog refuses is fine without it
    "output:\n  format: csv\ncatalog:\n  enabled: false\n",
    "retention:\n  storage_class: DEEP_ARCHIVE\ncatalog:\n  enabled: false\n",
    "input:\n  prefix: athena-results/\ncatalog:\n  enabled: false\n",
    # or when explicitly allowed
    "retention:\n  storage_class: GLACIER\n  allow_unqueryable_storage: true\n",
    "retention:\n  storage_class: none\n",
])
def test_settings_the_catalog_refuses_load_without_it(workdir: Path, text: str) -> None:
    config = workdir / "pipeline.yaml"
    config.write_text(HEAD + text, encoding="utf-8")
    load_config(config)


def test_upper_case_columns_are_fine_without_the_catalog(workdir: Path) -> None:
    config = workdir / "pipeline.yaml"
    config.write_text("name: demo\nschema: upper_case.json\ncatalog:\n  enabled: false\n",
                      encoding="utf-8")
    assert list(load_config(config).schema["properties"]) == ["id", "Amount"]


def test_lineage_names_are_free_without_lineage(workdir: Path) -> None:
    config = workdir / "pipeline.yaml"
    config.write_text("name: demo\nschema: lineage_clash.json\noutput:\n  lineage: false\n",
                      encoding="utf-8")
    assert "_source_key" in load_config(config).schema["properties"]
