"""Where the shipped data live: ``data/`` at the repository root (one definition)."""

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
