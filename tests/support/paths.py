"""Where the repository's files are, computed once here rather than from each test file's depth."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PROFILES_DIR = REPO_ROOT / "model_profiles"
ADAPTER_EXAMPLE_DIR = REPO_ROOT / "tests" / "fixtures" / "adapters"
"""A scale-to-zero base (mistral-7b-lora) and one LoRA adapter profile on it (mistral-7b-support)."""
