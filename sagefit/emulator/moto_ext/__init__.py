"""Extensions to moto 5.2.5 so that sagefit's SageMaker stacks deploy into the local emulator.

FOR THE LOCAL EMULATOR AND TESTS ONLY. This package monkey-patches moto, an in-memory fake of
AWS; it must never be imported by code that talks to real AWS. Nothing changes until
:func:`install_moto_extensions` is called (importing the package patches nothing). The call is
idempotent and affects the whole process: the in-process ``mock_aws()`` and a
``ThreadedMotoServer`` running in the same process both see the extensions.

sagefit deploys one model per endpoint as an *inference component* on an endpoint config whose
production variant names no model, and scales the component's copy count down to zero with
Application Auto Scaling. moto 5.2.5 cannot take that shape, so there is one module per AWS
service it falls short in, each with its own ``EXTENSIONS`` lines and ``install()``:

* :mod:`.sagemaker`: catalog instance types, model-less variants, the dropped
  ``ExecutionRoleArn``/``ManagedInstanceScaling``/``RoutingConfig``, and the
  ``*InferenceComponent*`` actions (the component itself is in :mod:`.inference_components`);
* :mod:`.cloudformation`: ``AWS::SageMaker::InferenceComponent`` (moto skipped it with a warning)
  and the explicit ``ModelName``/``EndpointConfigName``/``EndpointName`` of SageMaker resources
  (so a stack's outputs named an endpoint that did not exist);
* :mod:`.cfn_updates`: stack updates reach the SageMaker resources that reference a replaced one,
  in reference order (moto compared template text only);
* :mod:`.autoscaling`: the ``sagemaker:inference-component:DesiredCopyCount`` dimension, and
  ``AWS::ApplicationAutoScaling::ScalableTarget`` in CloudFormation (moto skipped it);
* :mod:`.ec2`: ``Fn::GetAZs`` answers the stack's region's zones (a new VPC's subnets, stacks/new_vpc.py);
* :mod:`.iam`: deleting an ``AWS::IAM::ManagedPolicy`` detaches it first (else the role stays);
* :mod:`.kms`: a tagged ``AWS::KMS::Key`` (every CDK stack tags its key) no longer fails the stack;
* :mod:`.service_quotas`: SageMaker's endpoint-usage quotas, for ``sagefit preflight``.

Two modules serve the others: :mod:`.rules` holds the AWS rules the emulator enforces (one table,
:data:`.rules.RULES`, each rule with its source, checked from the SageMaker, CloudFormation and
Application Auto Scaling patches so a bad call fails as in AWS), and :mod:`.endpoints` the in-place
endpoint update (UpdateEndpoint, and CloudFormation's endpoint updates) with what deleting an
endpoint does to its scalable targets.

:data:`EXTENSIONS` lists what is added, one line each (the README repeats it verbatim). Everything
else is moto's own behaviour (for example: endpoints and components are ``InService`` at once, no
container runs, nothing is checked against capacity, quotas or IAM), apart from the rules of
:mod:`.rules`. The patches are written
against moto 5.2.5 (``moto[server]==5.2.5`` in pyproject.toml) and wrap moto's functions rather
than copy them, so a moto upgrade should be re-checked with ``tests/emulator/test_moto_ext.py``.
"""

from __future__ import annotations

import threading
from types import ModuleType

from sagefit.emulator.moto_ext import (
    autoscaling,
    cfn_updates,
    cloudformation,
    ec2,
    iam,
    kms,
    sagemaker,
    service_quotas,
)

# Applied in this order. Each module patches different moto attributes, so order only matters
# inside a module (cloudformation.install says where), and cfn_updates wraps what cloudformation installs.
SERVICES: tuple[ModuleType, ...] = (sagemaker, cloudformation, cfn_updates, ec2, iam, kms, autoscaling, service_quotas)

EXTENSIONS: list[str] = [line for service in SERVICES for line in service.EXTENSIONS]

# Set on moto's sagemaker models module, not here, so a re-imported copy of this package still
# sees that moto is already patched and does not wrap moto's functions twice.
_MARKER = "_sagefit_moto_extensions_installed"
_install_lock = threading.Lock()


def install_moto_extensions() -> None:
    """Patch moto (process-wide) with everything in :data:`EXTENSIONS`. Idempotent.

    Call it before starting ``mock_aws()`` or ``ThreadedMotoServer``; calling it again is a
    no-op. There is no uninstall: the patches last for the life of the process.
    """
    import moto.sagemaker.models as sagemaker_models

    with _install_lock:
        if getattr(sagemaker_models, _MARKER, False):
            return
        for service in SERVICES:
            service.install()
        setattr(sagemaker_models, _MARKER, True)
