"""`sagefit preflight`: will this deploy fail on credentials, region or quota? Ask before waiting for it.

A GPU endpoint that exceeds its account quota fails only after CloudFormation has created the role,
model and config, with ``ResourceLimitExceeded``; many new accounts have a quota of 0 for
ml.g5.12xlarge and ml.p4d.24xlarge. The quota is looked up by its name,
``<instance type> for endpoint usage`` (service code ``sagemaker``), since codes are not documented
as stable; a region with no such quota does not offer the instance type for endpoints. Instance type,
endpoint name and capacity bounds come from the plan's :class:`~sagefit.core.spec.DeploymentSpec`
(a shared endpoint's from its :class:`~sagefit.core.shared_spec.SharedDeploymentSpec`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sagefit.core.shared_spec import SharedDeploymentSpec
from sagefit.core.spec import DeploymentSpec
from sagefit.ops.aws import AwsSession, aws_errors

ACTIVE_STATUSES = {"InService", "Creating", "Updating", "SystemUpdating", "RollingBack", "UpdateRollbackFailed"}


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


@dataclass
class PreflightReport:
    stack: str
    region: str
    instance_type: str
    checks: list[Check] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)


@dataclass(frozen=True)
class Quota:
    name: str
    code: str
    value: float


def quota_name(instance_type: str) -> str:
    return f"{instance_type} for endpoint usage"


def find_endpoint_quota(session: AwsSession, instance_type: str) -> Quota | None:
    """The account's applied quota for ``instance_type`` endpoints, looked up by name."""
    wanted = quota_name(instance_type)
    paginator = session.client("service-quotas").get_paginator("list_service_quotas")
    for page in paginator.paginate(ServiceCode="sagemaker"):
        for quota in page.get("Quotas", []):
            if quota.get("QuotaName") == wanted:
                return Quota(name=wanted, code=quota["QuotaCode"], value=float(quota["Value"]))
    return None


def instances_in_use(session: AwsSession, instance_type: str, skip_endpoint: str | None = None) -> tuple[int, int]:
    """(instances of ``instance_type`` used by other endpoints, instances used by ``skip_endpoint``)."""
    sagemaker = session.client("sagemaker")
    others = own = 0
    for page in sagemaker.get_paginator("list_endpoints").paginate():
        for summary in page.get("Endpoints", []):
            if summary.get("EndpointStatus") not in ACTIVE_STATUSES:
                continue
            name = summary["EndpointName"]
            endpoint = sagemaker.describe_endpoint(EndpointName=name)
            config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
            types = {v["VariantName"]: v.get("InstanceType") for v in config.get("ProductionVariants", [])}
            count = sum(
                _count_of(v, types.get(v["VariantName"]), instance_type) for v in endpoint.get("ProductionVariants", [])
            )
            if name == skip_endpoint:
                own += count
            else:
                others += count
    return others, own


def _count_of(summary: dict[str, Any], variant_type: str | None, instance_type: str) -> int:
    """Instances of ``instance_type`` a variant runs: per pool where it has instance pools
    (ProductionVariantSummary.InstancePools: "the current number of instances of that type")."""
    pools = summary.get("InstancePools")
    if pools:
        return sum(int(p.get("CurrentInstanceCount", 0)) for p in pools if p.get("InstanceType") == instance_type)
    return int(summary.get("CurrentInstanceCount", 0)) if variant_type == instance_type else 0


def deploy_instances(spec: DeploymentSpec) -> int:
    """Instances the endpoint starts with: always-on its minimum, the scaling modes one."""
    return max(1, spec.scaling.min_capacity)


def _quota_fix(region: str, quota: Quota, desired: int) -> str:
    return (
        f"request {desired:g}: aws service-quotas request-service-quota-increase --service-code sagemaker "
        f"--quota-code {quota.code} --desired-value {desired} --region {region} "
        f"(or Service Quotas console > Amazon SageMaker > '{quota.name}')"
    )


def preflight(spec: DeploymentSpec, session: AwsSession) -> PreflightReport:
    """Credentials, then the region's offer of, and the endpoint quota for, every instance type the
    deploy may start: the planned one and each instance-pool fallback (``spec.pool``)."""
    report = _credentials(spec.names.stack, spec.instance_type, session)
    for instance_type in spec.pool_types or (spec.instance_type,):
        _check_instance_type(spec, session, report, instance_type)
    return report


def _credentials(stack: str, instance_type: str, session: AwsSession) -> PreflightReport:
    """A report whose first check is the caller's identity (STS GetCallerIdentity)."""
    report = PreflightReport(stack, session.region, instance_type)
    with aws_errors("checking credentials"):
        identity = session.client("sts").get_caller_identity()
    report.checks.append(Check("credentials", True, f"account {identity['Account']} ({identity['Arn']})"))
    return report


def _check_instance_type(
    spec: DeploymentSpec, session: AwsSession, report: PreflightReport, instance_type: str
) -> None:
    """One instance type's offer and quota. A fallback is checked like the planned type: SageMaker
    starts the whole deploy (or a scale-out) there when the planned type is short."""
    fallback = instance_type != spec.instance_type
    _check_type(
        session,
        report,
        instance_type,
        fallback=fallback,
        endpoint=spec.names.endpoint,
        move="remove it from serving.instance_pool" if fallback else "pick another instance type",
        region_owner="the profile's",
        start=deploy_instances(spec),
        start_note="",
        peak=("scaling to max_capacity", spec.scaling.max_capacity),
    )


def shared_preflight(spec: SharedDeploymentSpec, session: AwsSession) -> PreflightReport:
    """Credentials, then the region's offer of, and the endpoint quota for, the shared endpoint's
    instance type and each instance-pool fallback (``spec.pool_types``): the packed fleet must fit at
    deploy, and managed instance scaling may grow it to ``max_instances``
    (ManagedInstanceScaling.MaxInstanceCount), which is warned about like a profile's max_capacity.
    Every member's copies run on these instances, so one quota per type covers them all."""
    report = _credentials(spec.names.stack, spec.instance_type, session)
    for instance_type in spec.pool_types or (spec.instance_type,):
        _check_shared_type(spec, session, report, instance_type)
    return report


def _check_shared_type(
    spec: SharedDeploymentSpec, session: AwsSession, report: PreflightReport, instance_type: str
) -> None:
    fallback = instance_type != spec.instance_type
    _check_type(
        session,
        report,
        instance_type,
        fallback=fallback,
        endpoint=spec.names.endpoint,
        move=f"remove {instance_type} from instance_types" + (" (or write instance_pool: off)" if fallback else ""),
        region_owner="the endpoint file's",
        start=spec.initial_instances,  # every pool type packs the initial copies on as many (shared_pool)
        start_note=" (the members' initial copies, packed)",
        peak=("growing to max_instances", spec.max_instances),
    )


def _check_type(
    session: AwsSession,
    report: PreflightReport,
    instance_type: str,
    *,
    fallback: bool,
    endpoint: str,
    move: str,
    region_owner: str,
    start: int,
    start_note: str,
    peak: tuple[str, int],
) -> None:
    """The region's offer of ``instance_type`` and its endpoint quota: the deploy's ``start``
    instances beside every other endpoint's must fit (an update is blue/green, so this endpoint's
    current fleet counts too); growing to the ``peak`` bound past the quota is a warning."""
    suffix = f" ({instance_type}, fallback)" if fallback else ""
    with aws_errors("reading Service Quotas"):
        quota = find_endpoint_quota(session, instance_type)
    if quota is None:
        report.checks.append(
            Check(
                f"region offers instance{suffix}",
                False,
                f"{session.region} has no quota '{quota_name(instance_type)}': it does not offer "
                f"{instance_type} for endpoints",
                f"set {region_owner} region to one that offers it, or {move}",
            )
        )
        return
    report.checks.append(Check(f"region offers instance{suffix}", True, f"{instance_type} in {session.region}"))
    with aws_errors("listing endpoints"):
        others, own = instances_in_use(session, instance_type, skip_endpoint=endpoint)
    needed = others + own + start
    detail = (
        f"quota {quota.value:g} ({quota.code}); other endpoints use {others}"
        + (f", this endpoint uses {own} (a blue/green update needs both fleets at once)" if own else "")
        + f"; the deploy needs {start}{start_note}"
    )
    ok = quota.value >= needed
    fix = "" if ok else _quota_fix(session.region, quota, needed) + (f", or {move}" if fallback else "")
    report.checks.append(Check(f"endpoint quota{suffix}", ok, detail, fix))
    growing, capacity = peak
    total = others + capacity
    if ok and quota.value < total:
        report.warnings.append(
            f"{instance_type}: {growing} {capacity} needs {total} instances, above "
            f"the quota of {quota.value:g}: {_quota_fix(session.region, quota, total)}"
        )
