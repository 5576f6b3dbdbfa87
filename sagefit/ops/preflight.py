"""`sagefit preflight`: will this deploy fail on credentials, region or quota? Ask before waiting for it.

A GPU endpoint that exceeds its account quota fails only after CloudFormation has created the role,
model and config, with ``ResourceLimitExceeded``; many new accounts have a quota of 0 for
ml.g5.12xlarge and ml.p4d.24xlarge. The quota is looked up by its name,
``<instance type> for endpoint usage`` (service code ``sagemaker``), since codes are not documented
as stable; a region with no such quota does not offer the instance type for endpoints. Instance type,
endpoint name and capacity bounds come from the plan's :class:`~sagefit.core.spec.DeploymentSpec`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
                int(v.get("CurrentInstanceCount", 0))
                for v in endpoint.get("ProductionVariants", [])
                if types.get(v["VariantName"]) == instance_type
            )
            if name == skip_endpoint:
                own += count
            else:
                others += count
    return others, own


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
    """Credentials, the region's offer of the instance type, and the endpoint quota for a deploy of ``spec``."""
    instance_type = spec.instance_type
    report = PreflightReport(spec.names.stack, session.region, instance_type)
    with aws_errors("checking credentials"):
        identity = session.client("sts").get_caller_identity()
    report.checks.append(Check("credentials", True, f"account {identity['Account']} ({identity['Arn']})"))

    with aws_errors("reading Service Quotas"):
        quota = find_endpoint_quota(session, instance_type)
    if quota is None:
        report.checks.append(
            Check(
                "region offers instance",
                False,
                f"{session.region} has no quota '{quota_name(instance_type)}': it does not offer "
                f"{instance_type} for endpoints",
                "set the profile's region to one that offers it, or pick another instance type",
            )
        )
        return report
    report.checks.append(Check("region offers instance", True, f"{instance_type} in {session.region}"))

    endpoint = spec.names.endpoint
    with aws_errors("listing endpoints"):
        others, own = instances_in_use(session, instance_type, skip_endpoint=endpoint)
    start = deploy_instances(spec)
    # An update is blue/green: the new fleet runs beside the old one until traffic has moved.
    needed = others + own + start
    detail = (
        f"quota {quota.value:g} ({quota.code}); other endpoints use {others}"
        + (f", this endpoint uses {own} (a blue/green update needs both fleets at once)" if own else "")
        + f"; the deploy needs {start}"
    )
    ok = quota.value >= needed
    report.checks.append(Check("endpoint quota", ok, detail, "" if ok else _quota_fix(session.region, quota, needed)))
    peak = others + spec.scaling.max_capacity
    if ok and quota.value < peak:
        report.warnings.append(
            f"scaling to max_capacity {spec.scaling.max_capacity} needs {peak} instances, above the quota "
            f"of {quota.value:g}: {_quota_fix(session.region, quota, peak)}"
        )
    return report
