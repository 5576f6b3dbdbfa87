"""Wiring the CDK app: every profile becomes one stack, named by its ``stack_name``, except the
members of a shared endpoint (``endpoint: NAME``), which become one stack per endpoint file
(``model_profiles/endpoints/NAME.yaml``).

Context (cdk.json or ``-c``):
  sagefit:profiles      directory of profiles (default model_profiles)
  sagefit:alertEmail    e-mail subscribed to every stack's alert topic
  sagefit:nag           run cdk-nag checks at synth (default true)
  sagefit:nagPacks      the cdk-nag packs to run: AwsSolutions (default), HIPAA, NIST80053R5, comma-separated
  sagefit:localTarget   synthesize for the local emulator (no bootstrap-version rule)
  sagefit:<Stack>:<field>  profile override, e.g. sagefit:MistralStack:max_capacity=2
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import aws_cdk as cdk

from sagefit.core.catalog import Catalog, load_catalog
from sagefit.core.overrides import PREFIX, apply_overrides, context_overrides, parse_flag
from sagefit.core.planner import plan_profile
from sagefit.core.profiles import LoadedProfile, load_profiles
from sagefit.core.shared_members import group_members
from sagefit.core.shared_plan import plan_shared
from sagefit.core.shared_profile import LoadedEndpoint, load_endpoints
from stacks.llm_stack import LlmEndpointStack, LlmEndpointStackProps
from stacks.nag import PACKS_KEY, apply_nag, nag_packs, packs_in_effect
from stacks.shared_stack import SharedEndpointStack, SharedEndpointStackProps


def _flag(context: dict[str, Any], key: str, default: bool) -> bool:
    """A yes/no context key, read strictly (sagefit.core.overrides.parse_flag)."""
    return parse_flag(context.get(f"{PREFIX}{key}"), key, default)


def build_app(app: cdk.App, base_dir: Path | None = None) -> list[LlmEndpointStack]:
    """Add one stack per profile of its own and one per shared endpoint to ``app``; raises
    SagefitError on a bad profile or endpoint file. Returns the profiles' stacks (the shared
    endpoints' are :func:`shared_stacks` of the app).

    ``base_dir`` is the project root (default: the current directory, where ``cdk synth`` runs): the
    profiles directory and the project catalog (sagefit-catalog.yaml, else the packaged one) are
    found there.
    """
    # the app's whole context in one jsii round trip; every key below is read from it
    context: dict[str, Any] = app.node.get_all_context()
    directory = Path(context.get(f"{PREFIX}profiles") or "model_profiles")
    if base_dir is not None and not directory.is_absolute():
        directory = base_dir / directory
    alert_email = context.get(f"{PREFIX}alertEmail") or None
    local, nag = _flag(context, "localTarget", False), _flag(context, "nag", True)
    packs = nag_packs(context.get(PACKS_KEY))
    catalog = load_catalog(base_dir)
    profiles = load_profiles(directory, catalog)
    # every -c key is checked, and every override applied, before the first stack is built
    overrides = context_overrides(context, profiles)
    profiles = [apply_overrides(p, overrides.get(p.profile.stack_name, {}), catalog) for p in profiles]
    groups, solo = group_members(load_endpoints(directory, catalog), profiles)
    with packs_in_effect(packs):
        stacks = [_stack(app, loaded, catalog, alert_email, local) for loaded in solo]
        for endpoint, members in groups:
            _shared_stack(app, endpoint, members, catalog, alert_email, local)
    if nag:
        apply_nag(app, packs)
    return stacks


def _stack(
    app: cdk.App, loaded: LoadedProfile, catalog: Catalog, alert_email: str | None, local: bool
) -> LlmEndpointStack:
    plan = plan_profile(loaded, catalog)
    spec = plan.spec
    synthesizer = cdk.DefaultStackSynthesizer(generate_bootstrap_version_rule=not local)
    return LlmEndpointStack(
        app,
        spec.names.stack,
        LlmEndpointStackProps(plan=plan, alert_email=alert_email),
        env=cdk.Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=spec.region),
        synthesizer=synthesizer,
    )


def _shared_stack(
    app: cdk.App,
    endpoint: LoadedEndpoint,
    members: list[LoadedProfile],
    catalog: Catalog,
    alert_email: str | None,
    local: bool,
) -> SharedEndpointStack:
    plan = plan_shared(endpoint, members, catalog)
    return SharedEndpointStack(
        app,
        plan.spec.names.stack,
        SharedEndpointStackProps(plan=plan, alert_email=alert_email),
        env=cdk.Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=plan.spec.region),
        synthesizer=cdk.DefaultStackSynthesizer(generate_bootstrap_version_rule=not local),
    )


def shared_stacks(app: cdk.App) -> list[SharedEndpointStack]:
    """The shared endpoints' stacks :func:`build_app` added to ``app``."""
    return [child for child in app.node.children if isinstance(child, SharedEndpointStack)]
