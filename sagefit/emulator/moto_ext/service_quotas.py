"""Service Quotas in moto: SageMaker's per-instance-type endpoint quotas.

``sagefit preflight`` asks Service Quotas whether the account may run the planned instance type
(GetServiceQuota / ListServiceQuotas / RequestServiceQuotaIncrease, Service Quotas API reference:
https://docs.aws.amazon.com/servicequotas/2019-06-24/apireference/). moto 5.2.5 knows no quota of
service code ``sagemaker``; this module serves one ``<instance type> for endpoint usage`` quota per
catalog instance type (with the catalog's quota code), each 0 like many new accounts, and approves
an increase at once. Other service codes keep moto's behaviour. :func:`install` applies it; call it
only through :func:`sagefit.emulator.moto_ext.install_moto_extensions`.
"""

from __future__ import annotations

from typing import Any

EXTENSIONS: list[str] = [
    "Service Quotas: ListServiceQuotas, GetServiceQuota and RequestServiceQuotaIncrease for service "
    "code sagemaker, with one '<instance type> for endpoint usage' quota per catalog instance type "
    "(catalog quota codes), each 0 like many new accounts; an increase request is approved at once",
]

_QUOTA_STORE_ATTR = "sagefit_applied_quotas"
SAGEMAKER_SERVICE_NAME = "Amazon SageMaker"


def _sagemaker_quota_rows(backend: Any) -> dict[str, dict[str, Any]]:
    """Applied endpoint-usage quotas of one account and region, keyed by quota code (lazily seeded)."""
    rows = getattr(backend, _QUOTA_STORE_ATTR, None)
    if rows is None:
        from sagefit.core.catalog import load_catalog

        rows = {}
        for instance in load_catalog().instances:
            if not instance.quota_code:
                continue
            code = instance.quota_code
            rows[code] = {
                "ServiceCode": "sagemaker",
                "ServiceName": SAGEMAKER_SERVICE_NAME,
                "QuotaArn": f"arn:aws:servicequotas:{backend.region_name}:{backend.account_id}:sagemaker/{code}",
                "QuotaCode": code,
                "QuotaName": f"{instance.instance_type} for endpoint usage",
                "Value": 0.0,
                "Unit": "None",
                "Adjustable": True,
                "GlobalQuota": False,
            }
        setattr(backend, _QUOTA_STORE_ATTR, rows)
    return rows


def install() -> None:
    """Answer Service Quotas calls for service code ``sagemaker``; other codes keep moto's behaviour."""
    import json
    import uuid

    from moto.servicequotas.exceptions import NoSuchResource
    from moto.servicequotas.models import ServiceQuotasBackend
    from moto.servicequotas.responses import ServiceQuotasResponse

    original_get = ServiceQuotasBackend.get_service_quota

    def get_service_quota(self: ServiceQuotasBackend, service_code: str, quota_code: str) -> dict[str, Any]:
        if service_code != "sagemaker":
            return original_get(self, service_code, quota_code)
        row = _sagemaker_quota_rows(self).get(quota_code)
        if row is None:
            raise NoSuchResource()
        return dict(row)

    def list_service_quotas(self: ServiceQuotasBackend, service_code: str) -> list[dict[str, Any]]:
        if service_code != "sagemaker":
            raise NoSuchResource()
        return [dict(row) for row in _sagemaker_quota_rows(self).values()]

    def request_service_quota_increase(
        self: ServiceQuotasBackend, service_code: str, quota_code: str, desired_value: float
    ) -> dict[str, Any]:
        row = _sagemaker_quota_rows(self).get(quota_code) if service_code == "sagemaker" else None
        if row is None:
            raise NoSuchResource()
        row["Value"] = float(desired_value)
        return {
            "Id": uuid.uuid4().hex,
            "ServiceCode": service_code,
            "ServiceName": SAGEMAKER_SERVICE_NAME,
            "QuotaCode": quota_code,
            "QuotaName": row["QuotaName"],
            "QuotaArn": row["QuotaArn"],
            "DesiredValue": float(desired_value),
            "Status": "APPROVED",
            "Unit": "None",
            "GlobalQuota": False,
        }

    def _list(self: ServiceQuotasResponse) -> str:
        params = json.loads(self.body)
        quotas = list_service_quotas(self.backend, str(params.get("ServiceCode")))
        return json.dumps({"Quotas": quotas})

    def _request(self: ServiceQuotasResponse) -> str:
        params = json.loads(self.body)
        requested = request_service_quota_increase(
            self.backend,
            str(params.get("ServiceCode")),
            str(params.get("QuotaCode")),
            float(params.get("DesiredValue")),
        )
        return json.dumps({"RequestedQuota": requested})

    setattr(ServiceQuotasBackend, "get_service_quota", get_service_quota)
    setattr(ServiceQuotasBackend, "list_service_quotas", list_service_quotas)
    setattr(ServiceQuotasBackend, "request_service_quota_increase", request_service_quota_increase)
    setattr(ServiceQuotasResponse, "list_service_quotas", _list)
    setattr(ServiceQuotasResponse, "request_service_quota_increase", _request)
