"""UpdateEndpoint for moto's SageMaker, and what Application Auto Scaling does when an endpoint goes.

moto 5.2.5 has no UpdateEndpoint, and its CloudFormation replaces an endpoint (delete, create) where
AWS updates it in place. sagefit's day-two changes are endpoint updates, so this module holds one
in-place update (:func:`switch_config`) that both the API (:func:`update_endpoint`) and the
CloudFormation patches in :mod:`.cloudformation` use, with the instance-type rule of
:func:`.rules.check_endpoint_update` applied first. moto keeps only variant summaries on an endpoint
(no instance type) and AWS allows deleting an endpoint config that is in use, so the variants an
endpoint runs are remembered here, per backend, from its create and each update.

Deleting an endpoint deregisters its variants' scalable targets: "If any are and you have permission
to deregister the variant, Application Auto Scaling deregisters those variants as scalable targets
without notifying you" (https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-delete-with-scaling.html);
moto checks no IAM, so the permission is assumed. Deregistering also deletes the target's scaling
policies and scheduled actions (DeregisterScalableTarget API reference).
"""

from __future__ import annotations

import copy
from typing import Any

from moto.applicationautoscaling.models import (
    ApplicationAutoscalingBackend,
    FakeScalableTarget,
    applicationautoscaling_backends,
)
from moto.core.utils import utcnow
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import FakeEndpoint, FakeEndpointConfig, SageMakerModelBackend

from sagefit.core import aws_rules
from sagefit.emulator.moto_ext import rules
from sagefit.emulator.moto_ext.autoscaling import deregister_with_policies

# Where the deployed variants live on a SageMaker backend (endpoint name -> variants). moto's
# reset() replaces the backend's __dict__, so they go with the rest of moto's state.
_DEPLOYED_ATTR = "sagefit_deployed_variants"
# VariantPropertyType values RetainAllVariantProperties keeps (API_VariantProperty.html);
# DataCaptureConfig is kept on the endpoint by moto already.
_RETAINED = {
    "DesiredInstanceCount": ("CurrentInstanceCount", "DesiredInstanceCount"),
    "DesiredWeight": ("CurrentWeight", "DesiredWeight"),
}


def _deployed(backend: SageMakerModelBackend) -> dict[str, list[dict[str, Any]]]:
    store: dict[str, list[dict[str, Any]]] = backend.__dict__.setdefault(_DEPLOYED_ATTR, {})
    return store


def record_deployed(backend: SageMakerModelBackend, endpoint: FakeEndpoint, variants: list[dict[str, Any]]) -> None:
    """Remember the variants (with instance types) ``endpoint`` now runs."""
    _deployed(backend)[endpoint.endpoint_name] = copy.deepcopy(variants)


def deployed_variants(backend: SageMakerModelBackend, endpoint: FakeEndpoint) -> list[dict[str, Any]]:
    """The variants ``endpoint`` runs: as recorded, else its config's (an endpoint from before install)."""
    recorded = _deployed(backend).get(endpoint.endpoint_name)
    if recorded is not None:
        return recorded
    config = backend.endpoint_configs.get(endpoint.endpoint_config_name)
    return list(config.production_variants) if config is not None else []


def _scaling_backend(backend: SageMakerModelBackend) -> ApplicationAutoscalingBackend:
    scaling: ApplicationAutoscalingBackend = applicationautoscaling_backends[backend.account_id][backend.region_name]
    return scaling


def variant_targets(backend: SageMakerModelBackend, endpoint_name: str) -> list[FakeScalableTarget]:
    """The endpoint's variants registered with Application Auto Scaling (resource id
    ``endpoint/<endpoint>/variant/<variant>``, RegisterScalableTarget's ResourceId)."""
    prefix = f"endpoint/{endpoint_name}/variant/"
    targets = _scaling_backend(backend)._flatten_scalable_targets("sagemaker")
    return [t for t in targets if t.resource_id.startswith(prefix)]


def switch_config(
    backend: SageMakerModelBackend,
    endpoint: FakeEndpoint,
    config: FakeEndpointConfig,
    *,
    retain: bool = False,
    exclude: list[dict[str, str]] | None = None,
) -> FakeEndpoint:
    """Move ``endpoint`` onto ``config`` in place, as UpdateEndpoint does (InService at once).

    ``retain``/``exclude`` are RetainAllVariantProperties/ExcludeRetainedVariantProperties: kept
    variant properties come from the endpoint's current summaries, not the new config."""
    registered = {t.resource_id.split("/")[3] for t in variant_targets(backend, endpoint.endpoint_name)}
    rules.check_endpoint_update(
        endpoint.endpoint_name, deployed_variants(backend, endpoint), config.production_variants, registered
    )
    summaries = endpoint._process_production_variants(config.production_variants)
    if retain:
        excluded = {e.get("VariantPropertyType") for e in exclude or []}
        previous = {s["VariantName"]: s for s in endpoint.production_variants}
        for summary in summaries:
            old = previous.get(summary["VariantName"], {})
            for prop, keys in _RETAINED.items():
                if prop not in excluded:
                    summary.update({key: old[key] for key in keys if key in old})
    endpoint.endpoint_config_name = config.endpoint_config_name
    endpoint.production_variants = summaries
    endpoint.last_modified_time = utcnow()
    record_deployed(backend, endpoint, config.production_variants)
    return endpoint


def update_endpoint(
    self: SageMakerModelBackend,
    endpoint_name: str,
    endpoint_config_name: str,
    retain_all_variant_properties: bool = False,
    exclude_retained_variant_properties: list[dict[str, str]] | None = None,
) -> FakeEndpoint:
    """UpdateEndpoint (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_UpdateEndpoint.html):
    the endpoint and the new config must exist; the update completes at once."""
    rules.check_name(aws_rules.ENDPOINT_NAME, endpoint_name, "endpointName")
    endpoint = self.endpoints.get(endpoint_name)
    if endpoint is None:
        arn = FakeEndpoint.arn_formatter(endpoint_name, self.account_id, self.region_name)
        raise ValidationError(message=f"Could not find endpoint '{arn}'.")
    config = self.endpoint_configs.get(endpoint_config_name)
    if config is None:
        arn = FakeEndpointConfig.arn_formatter(endpoint_config_name, self.account_id, self.region_name)
        raise ValidationError(message=f"Could not find endpoint configuration '{arn}'.")
    return switch_config(
        self, endpoint, config, retain=retain_all_variant_properties, exclude=exclude_retained_variant_properties
    )


def forget_endpoint(backend: SageMakerModelBackend, endpoint_name: str) -> None:
    """After DeleteEndpoint: deregister the variants' scalable targets with their policies and
    scheduled actions, and drop the recorded variants."""
    _deployed(backend).pop(endpoint_name, None)
    scaling = _scaling_backend(backend)
    for target in variant_targets(backend, endpoint_name):
        deregister_with_policies(scaling, (target.service_namespace, target.resource_id, target.scalable_dimension))
