"""The local emulator: sagefit's moto extensions, its optional dependency, the local target, and the
seed templates deployed into moto's CloudFormation."""
