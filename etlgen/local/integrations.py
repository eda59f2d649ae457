"""Task resources of the rendered template, resolved to local targets.

The state machine names its tasks through `DefinitionSubstitutions`; here each value is
followed back to its template resource: a Lambda function becomes the handler module named
by its `Handler` property, the status table the local SQLite store
(`etlgen.local.status_table.LocalStatusTable`), the alert topic a JSON-lines file.
Anything else is a clear error before the run starts.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from etlgen import asl
from etlgen.asl import StatesError, TaskCall
from etlgen.local.errors import DefinitionError

LOCAL_REGION = "local"
LOCAL_ACCOUNT = "000000000000"
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
DYNAMODB_UPDATE_ITEM = "arn:aws:states:::dynamodb:updateItem"
SNS_PUBLISH = "arn:aws:states:::sns:publish"
_PLACEHOLDER = re.compile(r"\$\{([^}!]+)\}")
# Pseudo parameters a substitution's `Fn::Sub` text may use, with their local values.
LOCAL_PSEUDO_PARAMETERS = {"AWS::Partition": "aws", "AWS::Region": LOCAL_REGION,
                           "AWS::AccountId": LOCAL_ACCOUNT}


@dataclass
class LocalResources:
    """What the definition's resources mean on this machine."""

    substitutions: dict[str, str] = field(default_factory=dict)
    lambdas: dict[str, str] = field(default_factory=dict)  # function ARN -> handler module
    tables: dict[str, str] = field(default_factory=dict)  # table name -> logical id
    topics: dict[str, str] = field(default_factory=dict)  # topic ARN -> logical id


@dataclass(frozen=True)
class StateMachineSpec:
    """The rendered state machine, ready to interpret."""

    logical_id: str
    definition: dict[str, Any]
    resources: LocalResources


def state_machine_from_template(template: dict[str, Any]) -> StateMachineSpec:
    """The one state machine of a rendered template, with `${...}` substituted."""
    resources = template.get("Resources", {})
    machines = [(logical_id, resource) for logical_id, resource in resources.items()
                if resource.get("Type") == "AWS::StepFunctions::StateMachine"]
    if len(machines) != 1:
        raise DefinitionError(f"the template has {len(machines)} state machines, expected 1")
    logical_id, machine = machines[0]
    properties = machine.get("Properties", {})
    definition = properties.get("Definition")
    if not isinstance(definition, dict):
        raise DefinitionError(f"{logical_id}: expected a Definition object in the template")
    local = LocalResources()
    for name, value in properties.get("DefinitionSubstitutions", {}).items():
        local.substitutions[name] = _local_value(name, value, resources, local)
    return checked_state_machine(logical_id, definition, local)


def checked_state_machine(logical_id: str, definition: dict[str, Any],
                          local: LocalResources) -> StateMachineSpec:
    """The definition with `local.substitutions` put in, once the engine and the local
    targets support every state and resource of it."""
    definition = _substitute(definition, local.substitutions, logical_id)
    try:
        asl.check_definition(definition)
    except asl.DefinitionError as error:
        raise DefinitionError(str(error)) from None
    check_resources(definition, local)
    return StateMachineSpec(logical_id, definition, local)


def lambda_arn(logical_id: str) -> str:
    """The local ARN of the template's function `logical_id`."""
    return f"arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT}:function:{logical_id}"


def topic_arn(logical_id: str) -> str:
    """The local ARN of the template's topic `logical_id`."""
    return f"arn:aws:sns:{LOCAL_REGION}:{LOCAL_ACCOUNT}:{logical_id}"


def _local_value(name: str, value: Any, resources: dict[str, Any],
                 local: LocalResources) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str):
        return _local_sub(name, value["Fn::Sub"])
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        target, attribute = value["Fn::GetAtt"]
        resource = resources.get(target, {})
        if resource.get("Type") == "AWS::Lambda::Function" and attribute == "Arn":
            handler = resource.get("Properties", {}).get("Handler", "")
            module, _, function = handler.rpartition(".")
            if not module or function != "lambda_handler":
                raise DefinitionError(f"substitution {name}: function {target} has Handler "
                                      f"{handler!r}, expected '<module>.lambda_handler'")
            arn = lambda_arn(target)
            local.lambdas[arn] = module
            return arn
    if isinstance(value, dict) and "Ref" in value:
        target = str(value["Ref"])
        kind = resources.get(target, {}).get("Type")
        if kind == "AWS::DynamoDB::Table":
            local.tables[target] = target
            return target
        if kind == "AWS::SNS::Topic":
            arn = topic_arn(target)
            local.topics[arn] = target
            return arn
    raise DefinitionError(f"substitution {name}: {json.dumps(value)} has no local equivalent "
                          "(supported: GetAtt of a Lambda function's Arn, Ref of a DynamoDB "
                          "table or SNS topic, Fn::Sub of pseudo parameters)")


def _local_sub(name: str, text: str) -> str:
    """`arn:${AWS::Partition}:states:::sns:publish` -> `arn:aws:states:::sns:publish`."""
    def replace(match: re.Match[str]) -> str:
        if match.group(1) not in LOCAL_PSEUDO_PARAMETERS:
            raise DefinitionError(f"substitution {name}: ${{{match.group(1)}}} has no local "
                                  f"value (supported: {', '.join(LOCAL_PSEUDO_PARAMETERS)})")
        return LOCAL_PSEUDO_PARAMETERS[match.group(1)]

    return _PLACEHOLDER.sub(replace, text)


def _substitute(value: Any, substitutions: dict[str, str], where: str) -> Any:
    if isinstance(value, dict):
        return {key: _substitute(item, substitutions, where) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute(item, substitutions, where) for item in value]
    if isinstance(value, str):
        def replace(match: re.Match[str]) -> str:
            if match.group(1) not in substitutions:
                raise DefinitionError(f"{where}: ${{{match.group(1)}}} is not in "
                                      "DefinitionSubstitutions")
            return substitutions[match.group(1)]

        return _PLACEHOLDER.sub(replace, value)
    return value


def check_resources(definition: dict[str, Any], local: LocalResources) -> None:
    """Every Task's resource must have a local target: fail before running, naming the state."""
    for name, state in definition.get("States", {}).items():
        if state.get("Type") == "Task":
            _check_task(name, state, local)
        for nested in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(nested), dict):
                check_resources(state[nested], local)


def _check_task(name: str, state: dict[str, Any], local: LocalResources) -> None:
    resource = state.get("Resource")
    parameters = state.get("Parameters", {})
    if resource in local.lambdas:
        return
    if resource == LAMBDA_INVOKE and parameters.get("FunctionName") in local.lambdas:
        return
    if resource == DYNAMODB_UPDATE_ITEM and parameters.get("TableName") in local.tables:
        return
    if resource == SNS_PUBLISH and parameters.get("TopicArn") in local.topics:
        return
    raise DefinitionError(
        f"state machine state {name!r}: resource {resource!r} has no local equivalent "
        "(supported: template Lambda functions, dynamodb:updateItem on the status table, "
        "sns:publish to the alert topic)")


LambdaRunner = Callable[[str, Any, TaskCall], Any]


class StatusTable(Protocol):
    """What `dynamodb:updateItem` needs from the local status store."""

    def update_item(self, key: dict[str, Any], update_expression: str,
                    names: dict[str, str], values: dict[str, Any],
                    condition: str | None = None) -> Any:
        """Raises `ConditionalCheckFailedException` when `condition` does not hold."""


class LocalTasks:
    """The task invoker for the interpreter: dispatches each resource to its local target."""

    def __init__(self, resources: LocalResources, run_lambda: LambdaRunner,
                 status_table: StatusTable, alerts_path: Path) -> None:
        self.resources = resources
        self.run_lambda = run_lambda
        self.status_table = status_table
        self.alerts_path = alerts_path
        self._alerts_lock = threading.Lock()

    def __call__(self, resource: str, parameters: Any, call: TaskCall) -> Any:
        if resource in self.resources.lambdas:
            return self.run_lambda(self.resources.lambdas[resource], parameters, call)
        if resource == LAMBDA_INVOKE:
            module = self.resources.lambdas[parameters["FunctionName"]]
            payload = self.run_lambda(module, parameters.get("Payload", {}), call)
            return {"Payload": payload, "StatusCode": 200, "ExecutedVersion": "$LATEST"}
        if resource == DYNAMODB_UPDATE_ITEM:
            return self._update_item(parameters)
        if resource == SNS_PUBLISH:
            return self._publish(parameters)
        raise StatesError("States.TaskFailed", f"no local target for resource {resource!r}")

    def _update_item(self, parameters: dict[str, Any]) -> Any:
        try:
            self.status_table.update_item(
                parameters["Key"],
                parameters["UpdateExpression"],
                parameters.get("ExpressionAttributeNames", {}),
                parameters.get("ExpressionAttributeValues", {}),
                parameters.get("ConditionExpression"),
            )
        except KeyError as error:
            raise StatesError("DynamoDB.ValidationException",
                              f"missing parameter {error}") from None
        except Exception as error:  # the store's own failure, named like the AWS integration
            # (`DynamoDB.ConditionalCheckFailedException` when the condition does not hold)
            raise StatesError(f"DynamoDB.{type(error).__name__}", str(error)) from None
        return {}

    def _publish(self, parameters: dict[str, Any]) -> Any:
        message_id = str(uuid.uuid4())
        record = {
            "MessageId": message_id,
            "TopicArn": parameters.get("TopicArn"),
            "Subject": parameters.get("Subject"),
            "Message": parameters.get("Message"),
            "Timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
        }
        with self._alerts_lock:
            self.alerts_path.parent.mkdir(parents=True, exist_ok=True)
            with self.alerts_path.open("a", encoding="utf-8") as alerts:
                alerts.write(json.dumps(record, ensure_ascii=False) + "\n")
        return {"MessageId": message_id}
