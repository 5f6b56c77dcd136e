"""pip install --no-build-isolation ./python  (or from python/: pip install .)

Builds the static cthreading library with make (build/plain), then the
extension against it, as python/Makefile does, with setuptools.
"""

import glob
import os
import re
import subprocess

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
LIB = os.path.join(ROOT, "build", "plain", "libcthreading.a")


def version():
    with open(os.path.join(ROOT, "include", "cthreading", "version.h")) as f:
        return re.search(r'#define CT_VERSION_STRING "([^"]+)"', f.read()).group(1)


class BuildWithLibrary(build_ext):
    """Build libcthreading.a (position-independent objects) first."""

    def run(self):
        subprocess.check_call(["make", "--no-print-directory", "-C", ROOT, "V=plain",
                               "BUILD=build/plain", "lib"])
        super().run()


setup(
    name="pycthreading",
    version=version(),
    description="Python's threading, queue and ThreadPoolExecutor on the cthreading C library",
    ext_modules=[
        Extension(
            "pycthreading",
            sources=sorted(os.path.relpath(p, HERE) for p in glob.glob(os.path.join(HERE, "src", "*.c"))),
            depends=glob.glob(os.path.join(HERE, "src", "*.h")),
            include_dirs=[os.path.join(ROOT, "include")],
            extra_compile_args=["-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Wpedantic",
                                "-Werror", "-fvisibility=hidden", "-fno-strict-aliasing"],
            extra_objects=[LIB],
            extra_link_args=["-pthread", "-Wl,--exclude-libs,ALL"],
            libraries=["m"],
        )
    ],
    cmdclass={"build_ext": BuildWithLibrary},
)
