"""plugins/ is Airflow's plugins folder (the image's default, the demo's and the tests'): Airflow puts it on
sys.path, so `smart_office` imports from it, and its .airflowignore keeps the plugin loader from importing
the package's files one by one as top-level modules (a `rate_limits`, `settings` or `cli` module would
shadow or break others — `limits` once replaced the PyPI package the FAB auth manager needs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

_PROBE = """
import json, sys
from airflow import plugins_manager
plugins_manager.ensure_plugins_loaded()
import limits
package_files = {p.stem for p in __import__("pathlib").Path(sys.argv[1]).rglob("*.py")}
print(json.dumps({
    "errors": plugins_manager.get_import_errors(),
    "top_level_from_package": sorted(
        name for name, module in sys.modules.items()
        if "." not in name and name in package_files
        and (getattr(module, "__file__", "") or "").startswith(sys.argv[1])
    ),
    "limits": limits.__file__,
}))
"""


def test_airflow_loads_no_module_of_the_package_as_a_plugin(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")},
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, str(REPO / "plugins" / "smart_office")],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["errors"] == {}
    assert found["top_level_from_package"] == []
    assert "site-packages" in found["limits"]
