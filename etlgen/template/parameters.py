"""Template parameters: what differs per deployment rather than per pipeline."""

from __future__ import annotations

from troposphere import Equals, Not, Parameter, Ref, Template

from etlgen.model import PipelineConfig
from etlgen.template import names

EMAIL_OR_EMPTY_PATTERN = r"^$|^[^@\s]+@[^@\s]+\.[^@\s.]+$"
BUCKET_NAME_PATTERN = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"


def pandas_layer_parameter_path(config: PipelineConfig) -> str:
    """Public SSM parameter of the AWS SDK for pandas layer; it resolves in every region.

    The path has no region: CloudFormation reads it in the stack's region and gets that
    region's layer ARN, whose version number differs from region to region.
    """
    functions = config.functions
    return (
        f"/aws/service/aws-sdk-pandas/{functions.pandas_layer_version}"
        f"/py3.{functions.python_minor}/{functions.architecture}/layer-arn"
    )


def add_parameters(template: Template, config: PipelineConfig, handlers_key: str) -> None:
    template.add_parameter(Parameter(
        names.ENVIRONMENT_SUFFIX,
        Type="String",
        Default="dev",
        AllowedPattern="^[a-z0-9]{1,10}$",
        ConstraintDescription="1-10 lower-case letters or digits",
        Description="Suffix of every resource name, so several environments share an account",
    ))
    template.add_parameter(Parameter(
        names.ARTIFACT_BUCKET,
        Type="String",
        AllowedPattern=BUCKET_NAME_PATTERN,
        ConstraintDescription="an S3 bucket name",
        Description="S3 bucket holding the handlers zip (`etlgen package`)",
    ))
    template.add_parameter(Parameter(
        names.HANDLERS_KEY,
        Type="String",
        Default=handlers_key,
        MinLength=1,
        Description="Key of the handlers zip; its name holds the content hash, so a code "
        "change is a new key and CloudFormation redeploys the functions",
    ))
    template.add_parameter(Parameter(
        names.PANDAS_LAYER,
        Type="AWS::SSM::Parameter::Value<String>",
        Default=pandas_layer_parameter_path(config),
        Description="SSM parameter holding the AWS SDK for pandas layer ARN (pandas, numpy, "
        "pyarrow) for this runtime and architecture; point it at your own parameter to pin "
        "another layer",
    ))
    if config.alerts.enabled:
        template.add_parameter(Parameter(
            names.ALERT_EMAIL,
            Type="String",
            Default=config.alerts.email or "",
            AllowedPattern=EMAIL_OR_EMPTY_PATTERN,
            ConstraintDescription="an e-mail address, or empty for no subscription",
            Description="E-mail address subscribed to the alerts topic (empty: none)",
        ))
        template.add_condition(
            names.HAS_ALERT_EMAIL, Not(Equals(Ref(names.ALERT_EMAIL), ""))
        )
