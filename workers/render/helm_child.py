"""The child process that holds Helm's Go runtime: `python -m workers.render.helm_child`.

The Go runtime is loaded here and never in a Celery worker (its fork safety is unproven). One
JSON request per line on stdin (`{"chart": directory}`), one JSON answer per line on stdout:
`{"rendered": {template path: manifest}}` or `{"error": message}`. Go's own warnings go to
stderr, which the parent discards.
"""

from __future__ import annotations

import json
import posixpath
import resource
import sys
from typing import Any

RELEASE_NAME = "release-name"  # `helm template`'s own default
NAMESPACE = "default"
NOT_MANIFESTS = (".txt", ".tpl")  # NOTES.txt and other text the chart prints, not applies
MEMORY_LIMIT = 2 * 1024**3  # address space; Go reserves lazily, so this is room enough


def render(directory: str) -> dict[str, Any]:
    import helm_python  # here, not at import: the parent never loads the Go runtime

    try:
        for dependency in helm_python.dependency_list(directory):
            if dependency.get("status") == "missing":
                return {"error": f"missing dependency {dependency.get('name')}"}
        chart = helm_python.chart.Chart.load(directory)
        manifests = chart.render(name=RELEASE_NAME, namespace=NAMESPACE)
    except helm_python.HelmError as error:
        return {"error": str(error)}
    return {
        "rendered": {
            name: text
            for name, text in manifests.items()
            if not name.endswith(NOT_MANIFESTS)
            and not posixpath.basename(name).startswith("_")
            and text.strip()
        }
    }


def main() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    for line in sys.stdin:
        request = json.loads(line)
        try:
            answer = render(str(request["chart"]))
        except MemoryError:
            answer = {"error": "the chart needs more memory than a render may use"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
