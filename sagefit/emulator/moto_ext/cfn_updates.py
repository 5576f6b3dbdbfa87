"""CloudFormation stack updates in moto: which resources an update reaches, and in which order.

moto 5.2.5 decides what a stack update changes by comparing each resource's template text, and
updates the changed ones in template order. AWS CloudFormation resolves references first: when a
resource is replaced, its new physical id or attribute reaches every resource that references it
(``Ref``/``Fn::GetAtt``), and those are updated too, after the resource they reference ("Update
behaviors of stack resources", https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-update-behaviors.html).
In moto a new model environment replaced the ``AWS::SageMaker::Model`` and nothing else: the endpoint
config kept naming the deleted model, and the endpoint and inference component never moved.

:func:`install` closes that gap for the SageMaker resources (their update handlers are sagefit's,
in :mod:`.cloudformation` and moto's, wrapped here to do nothing when the resolved properties are
unchanged, as CloudFormation leaves such a resource alone): a Model,
EndpointConfig, Endpoint or InferenceComponent that references a changed resource is updated too,
and the changed resources are updated in reference order. It also makes the new template visible
to the updates of one stack update (:func:`declared_endpoints`), so an endpoint config's update
knows which endpoints the template still names.
"""

from __future__ import annotations

import contextvars
import copy
import functools
from collections.abc import Iterator
from typing import Any

EXTENSIONS: list[str] = [
    "CloudFormation stack updates reach the SageMaker model, endpoint config, endpoint and inference "
    "component that reference a changed resource (moto updated only resources whose own template text "
    "changed), and update changed resources after the resources they reference",
]

SAGEMAKER_DEPENDENTS = (
    "AWS::SageMaker::Model",
    "AWS::SageMaker::EndpointConfig",
    "AWS::SageMaker::Endpoint",
    "AWS::SageMaker::InferenceComponent",
)
"""Resource types an update reaches through a reference (their handlers compare resolved values)."""

# The template of the stack update in progress (set around moto's ResourceMap.update).
_UPDATING: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("sagefit_cfn_update", default=None)


def declared_endpoints() -> dict[str, dict[str, Any]] | None:
    """EndpointName -> Properties of each AWS::SageMaker::Endpoint in the template being deployed;
    None outside a stack update, or when a name is not a literal (the caller then keeps moto's
    behaviour)."""
    template = _UPDATING.get()
    if template is None:
        return None
    declared: dict[str, dict[str, Any]] = {}
    for resource in (template.get("Resources") or {}).values():
        if resource.get("Type") != "AWS::SageMaker::Endpoint":
            continue
        props = resource.get("Properties") or {}
        name = props.get("EndpointName")
        if not isinstance(name, str):
            return None
        declared[name] = props
    return declared


def references(value: Any) -> Iterator[str]:
    """The logical ids ``value`` names through Ref or Fn::GetAtt (pseudo parameters included)."""
    if isinstance(value, list):
        for item in value:
            yield from references(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str):
                yield item
            elif key == "Fn::GetAtt":
                target = item[0] if isinstance(item, list) else str(item).split(".", 1)[0]
                yield str(target)
            else:
                yield from references(item)


def _depends(resource: dict[str, Any]) -> set[str]:
    """What a resource references, and what it names in DependsOn (a string or a list)."""
    depends = resource.get("DependsOn") or []
    return set(references(resource.get("Properties") or {})) | ({depends} if isinstance(depends, str) else set(depends))


def reach_and_order(modified: list[str], resources: dict[str, Any]) -> list[str]:
    """``modified`` plus the SageMaker resources that reference one of them (transitively), each
    after the modified resources it depends on."""
    graph = {name: _depends(resource) & set(resources) for name, resource in resources.items()}
    reached = set(modified)
    grew = True
    while grew:
        grew = False
        for name, resource in resources.items():
            if name not in reached and resource.get("Type") in SAGEMAKER_DEPENDENTS and graph[name] & reached:
                reached.add(name)
                grew = True
    ordered: list[str] = []

    def visit(name: str, path: frozenset[str]) -> None:
        if name in ordered or name in path:
            return
        for dependency in sorted(graph.get(name, set()) & reached):
            visit(dependency, path | {name})
        ordered.append(name)

    for name in [*modified, *sorted(reached - set(modified))]:
        visit(name, frozenset())
    return ordered


_PROPERTIES_ATTR = "sagefit_cfn_properties"
"""Where a SageMaker resource keeps the resolved Properties it was last created or updated with."""


def _skip_unchanged(model_class: Any) -> None:
    """Remember each create's and update's resolved Properties; an update whose resolved Properties
    equal the last ones returns the resource untouched (reached by reference, nothing to change)."""
    create = model_class.create_from_cloudformation_json.__func__
    update = model_class.update_from_cloudformation_json.__func__

    @functools.wraps(create)
    def create_from_cloudformation_json(
        cls: type, resource_name: str, cloudformation_json: dict[str, Any], *args: Any, **kwargs: Any
    ) -> Any:
        created = create(cls, resource_name, cloudformation_json, *args, **kwargs)
        setattr(created, _PROPERTIES_ATTR, copy.deepcopy(cloudformation_json.get("Properties")))
        return created

    @functools.wraps(update)
    def update_from_cloudformation_json(
        cls: type,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        props = cloudformation_json.get("Properties")
        if props == getattr(original_resource, _PROPERTIES_ATTR, None):
            return original_resource
        updated = update(
            cls,
            original_resource=original_resource,
            new_resource_name=new_resource_name,
            cloudformation_json=cloudformation_json,
            account_id=account_id,
            region_name=region_name,
        )
        setattr(updated, _PROPERTIES_ATTR, copy.deepcopy(props))
        return updated

    setattr(model_class, "create_from_cloudformation_json", classmethod(create_from_cloudformation_json))
    setattr(model_class, "update_from_cloudformation_json", classmethod(update_from_cloudformation_json))


def install() -> None:
    """Wrap moto's ResourceMap.update (the template context) and build_resource_diff (the reach), and
    the SageMaker resources' handlers (:func:`_skip_unchanged`). After :mod:`.cloudformation`'s install,
    whose handlers and registered InferenceComponent type it wraps."""
    from moto.cloudformation.parsing import ResourceMap, get_model_map

    model_map = get_model_map()
    for resource_type in SAGEMAKER_DEPENDENTS:
        _skip_unchanged(model_map[resource_type])

    original_update = ResourceMap.update
    original_diff = ResourceMap.build_resource_diff

    @functools.wraps(original_update)
    def update(self: ResourceMap, template: dict[str, Any], parameters: dict[str, Any] | None = None) -> None:
        token = _UPDATING.set(template)
        try:
            original_update(self, template, parameters)
        finally:
            _UPDATING.reset(token)

    @functools.wraps(original_diff)
    def build_resource_diff(
        self: ResourceMap, other_template: dict[str, Any], parameters: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        diff: dict[str, Any] = original_diff(self, other_template, parameters)
        new = other_template.get("Resources") or {}
        existing = {name: resource for name, resource in new.items() if name not in diff["Add"]}
        diff["Modify"] = reach_and_order(list(diff["Modify"]), existing)
        return diff

    setattr(ResourceMap, "update", update)
    setattr(ResourceMap, "build_resource_diff", build_resource_diff)
