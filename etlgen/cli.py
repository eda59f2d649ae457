"""`etlgen` command line: render, validate, package, run, query, graph, diff.

Every user-facing failure is an `EtlgenError`: one line on stderr and its exit code. Bad
arguments exit 2 with one line too (argparse would print the usage block first).
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import gc
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from etlgen import __version__
from etlgen.errors import EtlgenError, UsageError
from etlgen.output import write_output

DEFAULT_CONFIG = Path("pipeline.yaml")
CONFIG_HELP = "the pipeline config (default: pipeline.yaml)"
# Set to see the traceback of an unexpected error instead of its one-line summary.
TRACEBACK_VARIABLE = "ETLGEN_TRACEBACK"


class _Parser(argparse.ArgumentParser):
    """Argument errors in one line, naming the command and where to read more."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="etlgen",
        description="Generate, check and run serverless CSV ETL pipelines from pipeline.yaml.",
    )
    parser.add_argument("--version", action="version", version=f"etlgen {__version__}",
                        help="print the etlgen version and exit")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                     parser_class=_Parser)

    render = commands.add_parser("render", help="print the CloudFormation template")
    _config_argument(render)
    render.add_argument(
        "--format", choices=["json", "json-pretty", "yaml"], default="json",
        help="json (default): one line per resource, small enough for "
        "`aws cloudformation deploy --template-file`; json-pretty: indented, for reading; "
        "yaml: YAML (larger than the 51,200 bytes `deploy --template-file` accepts: "
        "upload it with --s3-bucket)",
    )
    render.add_argument("-o", "--output", type=Path, metavar="FILE",
                        help="write to this file (its folder must exist) instead of stdout")

    validate = commands.add_parser(
        "validate", help="check the config, lint the rendered template with cfn-lint and "
        "compare its tables with the committed template; exit 0 clean, 1 findings, a region "
        "without the layer or a breaking table change, 2 bad config"
    )
    _config_argument(validate)
    validate.add_argument(
        "--template", type=Path, metavar="FILE",
        help="the deployed template to compare the tables with (default: "
        "templates/pipeline.json next to the config, when it exists and renders the same "
        "pipeline)",
    )
    validate.add_argument(
        "--region", action="append", metavar="REGION",
        help="also check for this AWS region (repeatable): cfn-lint's rules for it and "
        "whether the functions' AWS SDK for pandas layer is published there",
    )

    package = commands.add_parser(
        "package", help="build the handlers zip under the key the template's functions load"
    )
    _config_argument(package)
    package.add_argument("-o", "--output-dir", type=Path, default=Path("dist"), metavar="DIR",
                         help="folder to write handlers/<key>.zip under, created when "
                         "missing (default: dist)")

    run = commands.add_parser(
        "run", help="run the pipeline locally over one CSV file",
        description="Run the pipeline locally over one CSV file: `etlgen run FILE.csv` "
        "(config pipeline.yaml) or `etlgen run CONFIG FILE.csv`. Exit 0 processed, "
        "1 the file failed, 2 bad input.",
    )
    run.add_argument("config", nargs="?", type=Path, default=DEFAULT_CONFIG, help=CONFIG_HELP)
    run.add_argument("csv", type=Path, metavar="FILE.csv", help="the CSV file to process")
    run.add_argument("--workdir", type=Path, default=Path(".etlgen"), metavar="DIR",
                     help="folder standing in for the bucket, table, queue and topic "
                     "(default: .etlgen)")
    run.add_argument("--workers", type=int, default=None, metavar="N",
                     help="parallel chunk workers (default: the CPUs this process may use, at most "
                     "processing.max_concurrency)")
    run.add_argument(
        "--retry-scale", type=float, default=0.01, metavar="S",
        help="multiply retry waits by this (attempt counts stay as defined; default 0.01)",
    )
    run.add_argument("--json", action="store_true", help="print the summary as JSON")

    query = commands.add_parser(
        "query", help="run SQL over the pipeline's table and its rejected rows: locally "
        "with DuckDB over what etlgen run committed, or in the stack's Athena workgroup",
        description="Run SQL over the tables <table> and <table>_rejected: `etlgen query "
        "\"SQL\"` (config pipeline.yaml) or `etlgen query CONFIG \"SQL\"`. Locally DuckDB "
        "reads exactly the partitions etlgen run committed under --workdir; with --athena "
        "--stack NAME the SQL runs in that stack's workgroup and database. Exit 0 done, 1 "
        "the query failed, 2 bad config or arguments.",
    )
    query.add_argument("config", nargs="?", type=Path, default=DEFAULT_CONFIG,
                       help=CONFIG_HELP)
    query.add_argument("sql", metavar="SQL", help="the query, e.g. \"SELECT count(*) FROM "
                       "transactions\"")
    query.add_argument("--format", choices=["table", "csv", "json"], default="table",
                       help="table (default): aligned columns; csv; json: a list of objects")
    query.add_argument("--workdir", type=Path, default=Path(".etlgen"), metavar="DIR",
                       help="the work folder of etlgen run (default: .etlgen)")
    query.add_argument("--athena", action="store_true",
                       help="run the SQL through Athena in the workgroup of --stack")
    query.add_argument("--stack", metavar="NAME",
                       help="the deployed stack whose WorkGroupName and DatabaseName "
                       "outputs --athena uses")

    diff = commands.add_parser(
        "diff", help="what deploying NEW over OLD changes: resources added, removed and "
        "changed, replacements and removals that orphan or lose data and breaking table "
        "changes (exit 1), bad input (exit 2)",
        description="Compare two templates the way `cdk diff` does. OLD and NEW are "
        "CloudFormation templates (JSON or YAML) or pipeline configs (rendered first). "
        "Default: the committed templates/pipeline.json against a fresh render of "
        "pipeline.yaml. Exit 0 no data at risk, 1 a stateful resource would be replaced, "
        "orphaned or deleted (or the update would fail) or a table would change in a way its "
        "readers cannot follow, 2 bad input.",
    )
    diff.add_argument("old", nargs="?", type=Path, metavar="OLD",
                      help="what is deployed now: a template or a config (default: "
                      "templates/pipeline.json next to the config)")
    diff.add_argument("new", nargs="?", type=Path, metavar="NEW",
                      help="what would be deployed: a template or a config (default: the "
                      "render of --config)")
    diff.add_argument("--config", type=Path, metavar="CONFIG",
                      help="the pipeline config whose render is NEW (default: pipeline.yaml)")

    graph = commands.add_parser("graph", help="print the state machine as a Mermaid diagram")
    _config_argument(graph)
    return parser


def _config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", nargs="?", default=DEFAULT_CONFIG, type=Path,
                        help=CONFIG_HELP)


def _render(args: argparse.Namespace) -> int:
    from etlgen.config import load_config
    from etlgen.render import render

    text = render(load_config(args.config), fmt=args.format)
    if args.output:
        write_output(args.output, text, option="-o")
    else:
        sys.stdout.write(text)
    return 0


def _validate(args: argparse.Namespace) -> int:
    from etlgen.config import load_config
    from etlgen.layer_regions import check_layer
    from etlgen.lint import lint_template, region_problem
    from etlgen.render import render

    regions = list(dict.fromkeys(args.region or []))
    for region in regions:
        problem = region_problem(region)
        if problem:
            raise UsageError(f"--region {region}: {problem}")
    config = load_config(args.config)
    text = render(config)
    problems = lint_template(text, regions=regions or None)
    for problem in problems:
        print(problem, file=sys.stderr)
    breaking = _table_changes(args, text)
    functions = config.functions
    checks = [check_layer(functions.pandas_layer_version, functions.runtime,
                          functions.architecture, region) for region in regions]
    for check in checks:
        if check.status != "ok":
            print(f"etlgen: {args.config}: {check.message}", file=sys.stderr)
    if problems:
        print(f"{args.config}: template has {len(problems)} cfn-lint finding(s)", file=sys.stderr)
    else:
        where = f" for {', '.join(regions)}" if regions else ""
        print(f"{args.config}: config valid, template passes cfn-lint{where}")
    for check in checks:
        if check.status == "ok":
            print(f"{args.config}: {check.message}")
    if breaking:
        print(f"{args.config}: {breaking} breaking table change(s): readers of the partitions "
              "committed so far would not see them as the new table says", file=sys.stderr)
    return 1 if problems or breaking or any(check.status == "missing" for check in checks) \
        else 0


def _table_changes(args: argparse.Namespace, rendered: str) -> int:
    """Print how the tables change against the deployed template (breaking lines on
    stderr); the number of breaking changes. Without `--template`, the committed
    `templates/pipeline.json` next to the config, when it exists and is this pipeline's."""
    import json

    from etlgen.catalog.evolution import table_changes
    from etlgen.diff.sources import load_side

    new = json.loads(rendered)
    committed = args.template or args.config.parent / "templates" / "pipeline.json"
    if args.template is None and not committed.is_file():
        return 0
    old = load_side(committed).template
    if args.template is None and _pipeline(old) != _pipeline(new):
        return 0  # another pipeline's render shares the folder
    changes = table_changes(old, new)
    for change in changes:
        print(f"{committed}: {change.line()}",
              file=sys.stderr if change.breaking else sys.stdout)
    return sum(change.breaking for change in changes)


def _pipeline(template: dict[str, object]) -> object:
    metadata = template.get("Metadata")
    etlgen = metadata.get("etlgen") if isinstance(metadata, dict) else None
    return etlgen.get("pipeline") if isinstance(etlgen, dict) else None


def _package(args: argparse.Namespace) -> int:
    from etlgen.config import load_config
    from etlgen.packaging import build_package

    bundle = build_package(load_config(args.config))
    target = args.output_dir / bundle.key
    write_output(target, bundle.data, option="-o", create_folders_under=args.output_dir)
    print(target)
    return 0


def _run(args: argparse.Namespace) -> int:
    from etlgen.local.cli import run_command

    _check_run_paths(args)
    return run_command(args)


def _check_run_paths(args: argparse.Namespace) -> None:
    """`etlgen run FILE.csv` and `etlgen run CONFIG FILE.csv`; a config alone or the two
    swapped get a clear word instead of a YAML error about a CSV file."""
    config_like = (".yaml", ".yml")
    if args.csv.suffix.lower() not in config_like:
        return
    if args.config.suffix.lower() == ".csv":
        raise UsageError(f"give the config first, then the CSV file: "
                         f"etlgen run {args.csv} {args.config}")
    if args.config == DEFAULT_CONFIG:
        raise UsageError(f"{args.csv} is a config; say which CSV file to run: "
                         f"etlgen run {args.csv} FILE.csv")
    raise UsageError(f"{args.csv} is a config, not a CSV file: etlgen run [CONFIG] FILE.csv")


def _query(args: argparse.Namespace) -> int:
    from etlgen.query.results import PRINTERS

    if args.athena != bool(args.stack):
        raise UsageError("--athena and --stack NAME go together: etlgen query --athena "
                         "--stack NAME \"SQL\"")
    if not args.sql.strip():
        raise UsageError("SQL is empty")
    if args.athena:
        from etlgen.query.athena import run_athena

        result = run_athena(args.sql, args.stack)
    else:
        from etlgen.config import load_config
        from etlgen.query.local import run_local

        if args.config.suffix.lower() not in (".yaml", ".yml") and not args.config.exists():
            raise UsageError(f"{args.config}: no such config; give the config first, then "
                             "the SQL: etlgen query [CONFIG] \"SQL\"")
        result = run_local(load_config(args.config), args.workdir, args.sql)
    sys.stdout.write(PRINTERS[args.format](result))
    return 0


def _diff(args: argparse.Namespace) -> int:
    from etlgen.diff.compare import compare
    from etlgen.diff.report import diff_text
    from etlgen.diff.sources import load_side, rendered

    if args.new is not None and args.config is not None:
        raise UsageError("give NEW or --config, not both")
    config = args.config or DEFAULT_CONFIG
    if args.old is not None:
        old = load_side(args.old)
    else:
        committed = config.parent / "templates" / "pipeline.json"
        if not committed.is_file():
            raise UsageError(f"{committed}: file not found (name the deployed template: "
                             "etlgen diff OLD.json)")
        old = load_side(committed)
    new = load_side(args.new) if args.new is not None else rendered(config)
    difference = compare(old.template, new.template)
    sys.stdout.write(diff_text(difference, old.label, new.label))
    return 1 if difference.at_risk or difference.breaking else 0


def _graph(args: argparse.Namespace) -> int:
    from etlgen.asl import to_mermaid
    from etlgen.config import load_config
    from etlgen.render import state_machine_definition

    sys.stdout.write(to_mermaid(state_machine_definition(load_config(args.config))))
    return 0


_COMMANDS = {
    "render": _render,
    "validate": _validate,
    "package": _package,
    "run": _run,
    "query": _query,
    "graph": _graph,
    "diff": _diff,
}


# Commands that end without the interpreter's teardown once their output is flushed: `run`
# holds pyarrow, numpy and jsonschema, whose teardown is tens of milliseconds of a small
# run, and leaves nothing running behind it (its workers have exited).
QUICK_EXIT_COMMANDS = frozenset({"run"})


def main(argv: Sequence[str] | None = None) -> int:
    return dispatch(_parser().parse_args(argv))


def dispatch(args: argparse.Namespace) -> int:
    """Run the parsed command; an error is one line on stderr and its exit code."""
    try:
        return _COMMANDS[args.command](args)
    except EtlgenError as error:
        print(f"etlgen: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("etlgen: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`etlgen render | head`): stop quietly, as other tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except Exception as error:
        if os.environ.get(TRACEBACK_VARIABLE):
            raise
        print(f"etlgen: unexpected error: {type(error).__name__}: {error} (a bug: set "
              f"{TRACEBACK_VARIABLE}=1 to see where it happened)", file=sys.stderr)
        return 1


def console() -> NoReturn:
    """The `etlgen` command: `main`, then exit. Everything allocated so far is frozen first
    (`gc.freeze`), so the interpreter's last collections do not walk the objects of the
    template, schema and Arrow libraries: a tenth of a second of every command's time. The
    commands of `QUICK_EXIT_COMMANDS` also skip the modules' teardown."""
    args = _parser().parse_args()
    code = dispatch(args)
    gc.freeze()
    if args.command in QUICK_EXIT_COMMANDS:
        _exit_without_teardown(code)
    sys.exit(code)


def _exit_without_teardown(code: int) -> NoReturn:
    """Exit as a forked process does: the exit handlers run (multiprocessing's among them)
    and the standard streams are flushed, then `os._exit` skips the modules' teardown."""
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    console()
