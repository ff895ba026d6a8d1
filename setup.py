"""Package list for the one ``flexmrt`` import namespace (metadata is in pyproject.toml).

The repository keeps its top-level folders (protocol/, engine/, gpu_dose/, server/); the wheel
installs them as ``flexmrt.protocol`` … ``flexmrt.server``, found here rather than listed by
hand so a new subpackage cannot be left out (data folders such as engine/schema included,
as pyproject's own package discovery would).
"""

from setuptools import find_namespace_packages, setup

TOP = ("protocol", "engine", "gpu_dose", "server")

setup(
    packages=[
        f"flexmrt.{name}"
        for name in find_namespace_packages(
            include=[f"{t}*" for t in TOP], exclude=["*__pycache__*"]
        )
    ],
    package_dir={f"flexmrt.{t}": t for t in TOP},
)
