"""The monitor's snapshots in the Evidently UI: one project per registered model.

EVIDENTLY_URL (the stack's `monitoring` profile, or a team's UI) receives them, with
EVIDENTLY_SECRET_KEY, the UI's secret for writing; without it they go to a local
workspace in the monitor's output folder, which `make monitor-ui` shows.
"""

import os
from pathlib import Path

URL, SECRET = "EVIDENTLY_URL", "EVIDENTLY_SECRET_KEY"


def add(snapshot, project_name: str, output: Path) -> str:
    """Add `snapshot` to the model's project; says where it went."""
    from evidently.ui.workspace import RemoteWorkspace, Workspace

    if url := os.environ.get(URL):
        workspace, where = RemoteWorkspace(url, secret=os.environ.get(SECRET)), url
    else:
        folder = output / "workspace"
        workspace, where = Workspace(str(folder)), f"workspace {folder} (make monitor-ui)"
    found = workspace.search_project(project_name)
    project = found[0] if found else workspace.create_project(project_name)
    workspace.add_run(project.id, snapshot)
    return f"snapshot added to the Evidently UI: {where}"
