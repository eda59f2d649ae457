"""Every rendered template passes cfn-lint cleanly and fits a direct `deploy` upload."""

from __future__ import annotations

import json

import pytest

from etlgen.lint import lint_template
from etlgen.model import PipelineConfig
from etlgen.render import render

from .conftest import CONFIG_FILES

# `aws cloudformation deploy --template-file` without `--s3-bucket` takes at most this much.
DIRECT_UPLOAD_LIMIT = 51_200


@pytest.mark.parametrize("label", sorted(CONFIG_FILES))
def test_template_has_no_cfn_lint_findings(label: str, rendered: dict[str, str]) -> None:
    # Informational findings count too: `etlgen validate` fails on them.
    assert lint_template(rendered[label]) == []


def test_yaml_template_has_no_cfn_lint_findings(configs: dict[str, PipelineConfig]) -> None:
    assert lint_template(render(configs["all_options"], fmt="yaml")) == []


@pytest.mark.parametrize("label", sorted(CONFIG_FILES))
def test_minified_template_fits_direct_upload(label: str, rendered: dict[str, str]) -> None:
    size = len(json.dumps(json.loads(rendered[label]), separators=(",", ":")).encode("utf-8"))
    print(f"\n{label}: minified template {size} bytes "
          f"({DIRECT_UPLOAD_LIMIT - size} below the {DIRECT_UPLOAD_LIMIT}-byte limit)")
    assert size < DIRECT_UPLOAD_LIMIT
