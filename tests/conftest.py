"""Make the tests/ folder importable so tests share helpers such as optim_cases."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
