"""Operations commands: plain boto3, the same against AWS and the local emulator."""
