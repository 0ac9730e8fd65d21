"""The CUDA sources of the CuPy tier: where they live and how they become GPU code.

A CuPy kernel written as CUDA C lives beside its Python file as ``kernels/<name>.cu`` (plain CUDA C,
``extern "C"`` entry points, readable on its own).  ``raw_kernel(name, function)`` compiles the file once
per process with CuPy (NVRTC under the hood) and returns the ``cupy.RawKernel`` for one entry point.
Nothing here imports CuPy until a kernel is asked for, so the CPU never pays for it.
"""
import functools
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def cuda_source_path(name):
    """The path of ``kernels/<name>.cu``."""
    return os.path.join(HERE, f"{name}.cu")


def cuda_sources():
    """The names of every ``.cu`` file in this folder, sorted."""
    return sorted(f[:-3] for f in os.listdir(HERE) if f.endswith(".cu"))


def read_cuda_source(name):
    path = cuda_source_path(name)
    if not os.path.exists(path):
        raise FileNotFoundError(f"cuda_source: no CUDA source {name!r} (expected {path})")
    with open(path, encoding="utf-8") as f:
        return f.read()


@functools.lru_cache(maxsize=None)
def raw_module(name):
    """``cupy.RawModule`` of ``kernels/<name>.cu``, compiled on first use and cached."""
    import cupy
    return cupy.RawModule(code=read_cuda_source(name), options=("--std=c++14",))


def raw_kernel(name, function):
    """The ``cupy.RawKernel`` for the ``extern "C"`` function ``function`` of ``kernels/<name>.cu``."""
    return raw_module(name).get_function(function)
