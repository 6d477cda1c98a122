# Offline stand-in for the get-pip script that `ansible-test sanity` downloads to bootstrap pip
# into each virtual environment it creates (the download host is not reachable here).
# tests/sanity/run.sh copies this file to ~/.ansible/test/cache/get_pip_<version>.py, where
# ansible-test looks before downloading. ansible-test runs it with the new environment's Python
# and get-pip's arguments, e.g. `--disable-pip-version-check pip==24.2 --no-setuptools --no-wheel`.
"""Bootstrap pip from the interpreter's bundled copy, then install what get-pip was asked for."""

from __future__ import annotations

import ensurepip
import os
import subprocess
import sys

# get-pip options that `pip install` does not know.
GET_PIP_ONLY_OPTIONS = frozenset(('--no-setuptools', '--no-wheel'))


def main() -> None:
    """Install the bundled pip, then the requested packages with the machine's pip configuration."""
    ensurepip.bootstrap(upgrade=True)

    # ensurepip leaves these set; they would hide the system pip configuration (index, proxy, CA).
    for name in ('PIP_CONFIG_FILE', 'ENSUREPIP_OPTIONS'):
        os.environ.pop(name, None)

    arguments = [argument for argument in sys.argv[1:] if argument not in GET_PIP_ONLY_OPTIONS]
    subprocess.run([sys.executable, '-m', 'pip', 'install'] + arguments, check=True)


if __name__ == '__main__':
    main()
