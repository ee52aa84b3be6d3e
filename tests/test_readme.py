"""The README's set-up commands are what CI runs."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", readme, re.S).group(1)
    return [line for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_readme_opens_with_two_commands():
    commands = _readme_commands()
    assert len(commands) == 2
    assert commands[0].endswith("ubergnn demo")
    assert "pytest" in commands[1]
    for command in commands:
        # the pin selects the CPU wheel on this project's machines, never a CUDA download
        assert 'pip install "torch==2.13.0"' in command


def test_ci_runs_the_readme_test_command_verbatim():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert _readme_commands()[1] in ci


def test_readme_python_example_runs():
    readme = (ROOT / "README.md").read_text()
    namespace = {}  # the blocks read as one session: later ones use what earlier ones defined
    for block in re.findall(r"```python\n(.*?)```", readme, re.S):
        exec(compile(block, "README.md", "exec"), namespace)
