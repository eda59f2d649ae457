"""The Athena workgroup of the pipeline and its example named queries, when
`catalog.enabled`.

The workgroup enforces its configuration (a client cannot send results elsewhere or turn
encryption off): results go, SSE-S3 encrypted like everything in the bucket, under the data
bucket's `athena-results/` prefix, which a lifecycle rule expires (see `storage`); a query
scanning more than `catalog.bytes_scanned_cutoff_mb` is cancelled; metrics go to
CloudWatch. `RecursiveDeleteOption` lets the stack delete the workgroup although it holds
query history and named queries (Athena refuses otherwise).
"""

from __future__ import annotations

from troposphere import Ref, Sub, Template
from troposphere.athena import (
    EncryptionConfiguration,
    NamedQuery,
    ResultConfiguration,
    WorkGroup,
    WorkGroupConfiguration,
)

from etlgen.catalog.queries import example_queries
from etlgen.catalog.tables import ATHENA_RESULTS_PREFIX
from etlgen.config.schema import MIB
from etlgen.model import PipelineConfig
from etlgen.template import names
from etlgen.template.tags import resource_tags


def add_athena(template: Template, config: PipelineConfig) -> None:
    if not config.catalog.enabled:
        return
    template.add_resource(WorkGroup(
        names.WORKGROUP,
        Name=Sub(names.workgroup_name_text(config)),
        RecursiveDeleteOption=True,
        WorkGroupConfiguration=WorkGroupConfiguration(
            EnforceWorkGroupConfiguration=True,
            PublishCloudWatchMetricsEnabled=True,
            BytesScannedCutoffPerQuery=config.catalog.bytes_scanned_cutoff_mb * MIB,
            ResultConfiguration=ResultConfiguration(
                OutputLocation=Sub(f"s3://${{{names.DATA_BUCKET}}}/{ATHENA_RESULTS_PREFIX}"),
                EncryptionConfiguration=EncryptionConfiguration(EncryptionOption="SSE_S3"),
            ),
        ),
        Tags=resource_tags(config),
    ))
    for query in example_queries(config):
        template.add_resource(NamedQuery(
            f"{query.key}Query",
            Name=query.name,
            Database=Ref(names.CATALOG_DATABASE),
            WorkGroup=Ref(names.WORKGROUP),
            QueryString=query.sql,
        ))
