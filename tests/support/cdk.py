"""Helpers for the CDK stack tests: one app for the whole session, synthesized once.

Imported lazily (by the fixtures in tests/conftest.py and by the CDK test modules), never by the planner
tests, so the pure-Python core stays testable without aws_cdk or node.

Building the six stacks costs about 1.5 s and ``app.synth()`` about 1 s with cdk-nag, but only once
the CDK's own built-in CloudFormation validation is switched off: that plugin adds ~11 s to every
synth of this app. It is off here because tests/stacks/test_stack_quality.py runs cfn-lint over the same
templates instead.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from sagefit.cdk_cli import node_env
from tests.support.paths import REPO_ROOT

# jsii starts `node` from PATH when aws_cdk is imported: the pinned Node 22 in node_modules/.bin, as
# the Makefile and the CDK CLI use, not the system's (whose end of life jsii would print as a banner).
os.environ.update(node_env(os.environ, REPO_ROOT))

import aws_cdk as cdk
from aws_cdk.assertions import Template

from sagefit.core.planner import Plan
from stacks.application import build_app, shared_stacks
from stacks.llm_stack import LlmEndpointStack

SCALE_TO_ZERO = ("MistralStack", "ZephyrStack", "Llama2x7bStack", "Llama2x13bStack")
ALWAYS_ON = "Llama2x70bStack"
ASYNC = "Llama2x70bAwqStack"
STACK_NAMES = (*SCALE_TO_ZERO, ALWAYS_ON, ASYNC)
SHARED = "SmallModelsStack"
"""The example shared endpoint (model_profiles/endpoints/small-models.yaml), built next to the seeds."""


def cdk_context(**extra: Any) -> dict[str, Any]:
    """The ``context`` of cdk.json (what ``cdk synth`` passes the app), plus ``extra``."""
    context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    context.update(extra)
    return context


def new_app(outdir: Path, context: dict[str, Any]) -> cdk.App:
    """An in-memory app writing to ``outdir``, without the CDK's slow built-in template validation."""
    return cdk.App(context=context, outdir=str(outdir), builtin_cloud_formation_validation=False)


class Templates(Mapping[str, Template]):
    """stack name -> ``Template.from_stack(stack)``, computed on first use and cached."""

    def __init__(self, session: CdkSession) -> None:
        self._session = session
        self._cache: dict[str, Template] = {}

    def __getitem__(self, name: str) -> Template:
        if name not in self._cache:
            self._cache[name] = self._session.template(name)
        return self._cache[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._session.stacks)

    def __len__(self) -> int:
        return len(self._session.stacks)


class CdkSession:
    """The session's app (cdk.json context, cdk-nag on), its stacks and plans, synthesized once."""

    def __init__(self, outdir: Path) -> None:
        self.outdir = outdir
        self.app = new_app(outdir, cdk_context())
        built = build_app(self.app, base_dir=REPO_ROOT)
        self.stacks: dict[str, LlmEndpointStack] = {stack.stack_name: stack for stack in built}
        self.plans: dict[str, Plan] = {name: stack.endpoint.plan for name, stack in self.stacks.items()}
        self.shared: dict[str, Any] = {stack.stack_name: stack for stack in shared_stacks(self.app)}
        """stack name -> SharedEndpointStack (tests/stacks/test_shared_stack.py)."""
        self.templates = Templates(self)
        self.assembly: Any = None
        self.synth_error: Exception | None = None
        self._synthesized = False
        self._json: dict[str, dict[str, Any]] = {}

    def synth(self) -> Any:
        """``app.synth()`` exactly once (cdk-nag runs here); a failure is kept, not re-raised."""
        if not self._synthesized:
            self._synthesized = True
            try:
                self.assembly = self.app.synth()
            except RuntimeError as exc:  # jsii surfaces the CDK's ValidationFailed as RuntimeError
                self.synth_error = exc
        return self.assembly

    def template_path(self, name: str) -> Path:
        return self.outdir / self.stacks[name].template_file

    def template(self, name: str) -> Template:
        self.synth()
        if self.assembly is not None:
            # Stage.synth() returns the cached assembly: this neither re-synthesizes nor re-runs nag.
            return Template.from_stack(self.stacks[name])
        # The synth failed validation after writing the templates: test them anyway, so a nag
        # finding fails the nag test only.
        return Template.from_json(json.loads(self.template_path(name).read_text()))

    def json(self, name: str) -> dict[str, Any]:
        """The template as a plain dict (cached; each to_json() crosses into node)."""
        if name not in self._json:
            self._json[name] = self.templates[name].to_json()
        return self._json[name]


# ----------------------------------------------------------------------------- template helpers
def resources(template: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    """logical id -> resource, for every resource of ``type_``."""
    return {lid: res for lid, res in template.get("Resources", {}).items() if res["Type"] == type_}


def only(template: dict[str, Any], type_: str) -> tuple[str, dict[str, Any]]:
    """(logical id, Properties) of the single resource of ``type_``; fails if there is not exactly one."""
    found = resources(template, type_)
    assert len(found) == 1, f"expected exactly one {type_}, found {sorted(found)}"
    ((lid, res),) = found.items()
    return lid, res.get("Properties", {})


def render(value: Any) -> str:
    """A string-ish CloudFormation value with pseudo parameters filled in, for pattern matching."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        sep, parts = value["Fn::Join"]
        return sep.join(render(part) for part in parts)
    if isinstance(value, dict) and "Ref" in value:
        return {"AWS::Partition": "aws", "AWS::AccountId": "<account>", "AWS::Region": "<region>"}.get(
            value["Ref"], f"<{value['Ref']}>"
        )
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return "<{}.{}>".format(*value["Fn::GetAtt"])
    raise AssertionError(f"cannot render {value!r}")


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def attached_policies(template: dict[str, Any], role_id: str) -> dict[str, dict[str, Any]]:
    """logical id -> Properties of every AWS::IAM::Policy and AWS::IAM::ManagedPolicy attached to
    ``role_id`` (through the policy's ``Roles``)."""
    return {
        lid: res["Properties"]
        for type_ in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
        for lid, res in resources(template, type_).items()
        if {"Ref": role_id} in res["Properties"].get("Roles", [])
    }


def role_statements(template: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    """Every statement a role gets: its inline ``Policies`` and the policies attached to it."""
    role = template["Resources"][role_id]["Properties"]
    statements = [s for p in role.get("Policies", []) for s in p["PolicyDocument"]["Statement"]]
    for policy in attached_policies(template, role_id).values():
        statements += policy["PolicyDocument"]["Statement"]
    return statements
