"""Write the backup scenario's images into an OCI layout: seed_layout.py PROJECT_DIR LAYOUT_DIR.

Tags: app-1 and app-2 (single images) and multi (an index of an amd64 and an arm64 image),
built with the project's tests/integration/oci_layout.py (nothing can be pulled here).
"""

import sys


def main(project, target):
    sys.path.insert(0, project)
    from tests.integration.oci_layout import Layout  # pylint: disable=import-outside-toplevel

    layout = Layout(target)
    layout.tag(layout.image({"app.txt": b"app one\n"}, created="2025-01-01T00:00:00Z"), "app-1")
    layout.tag(layout.image({"app.txt": b"app two\n"}, created="2025-02-01T00:00:00Z"), "app-2")
    children = [layout.image({"arch.txt": arch.encode()}, arch=arch, created="2025-03-01T00:00:00Z")
                for arch in ("amd64", "arm64")]
    layout.tag(layout.multiarch(children), "multi")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
