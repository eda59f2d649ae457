"""Template parameters: only what differs per deployment of one render.

`aws cloudformation deploy` sends `UsePreviousValue` for every parameter of an existing
stack that is not in `--parameter-overrides` (awscli `merge_parameters`), so a changed
parameter *default* never reaches a stack that exists. Whatever the render decides is
therefore a literal in the resources (the handlers key, the alert address), never a
default, with one keyed exception: the pandas layer (see `pandas_layer_parameter_id`).
"""

from __future__ import annotations

from troposphere import Parameter, Template

from etlgen.model import PipelineConfig
from etlgen.template import names

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


def pandas_layer_parameter_id(config: PipelineConfig) -> str:
    """`PandasLayerV3x11x0Py312Arm64`: the parameter's name carries its SSM path.

    The layer ARN comes from the public SSM parameter through a parameter of type
    `AWS::SSM::Parameter::Value<String>`, the documented way to read public parameters
    (the CloudFormation guide long said dynamic references do not support public
    parameters). Its default is the path, and the path is part of the parameter's name: a
    runtime, architecture or layer version change renames the parameter, `deploy` drops
    `UsePreviousValue` for a parameter the stack does not have yet (awscli
    `create_changeset`), and CloudFormation takes the new default. A `UsePreviousValue`
    can only ever keep the same path.
    """
    functions = config.functions
    version = functions.pandas_layer_version.replace(".", "x")
    return (f"{names.PANDAS_LAYER_PREFIX}V{version}Py3{functions.python_minor}"
            f"{functions.architecture.replace('_', '').capitalize()}")


def add_parameters(template: Template, config: PipelineConfig) -> None:
    template.add_parameter(Parameter(
        names.ENVIRONMENT_SUFFIX,
        Type="String",
        Default="dev",
        AllowedPattern="^[a-z0-9]{1,10}$",
        ConstraintDescription="1-10 lower-case letters or digits",
        Description="Suffix of every resource name: one stack per environment",
    ))
    template.add_parameter(Parameter(
        names.ARTIFACT_BUCKET,
        Type="String",
        AllowedPattern=BUCKET_NAME_PATTERN,
        ConstraintDescription="an S3 bucket name",
        Description="S3 bucket holding the handlers zip (`etlgen package`)",
    ))
    template.add_parameter(Parameter(
        pandas_layer_parameter_id(config),
        Type="AWS::SSM::Parameter::Value<String>",
        Default=pandas_layer_parameter_path(config),
        Description="AWS SDK for pandas layer ARN (public SSM path; a new path is a new "
        "parameter)",
    ))
