"""The CUDA sources of the CuPy tier: where they live and how they become GPU code.

A CuPy kernel written as CUDA C lives beside its Python file as ``kernels/<name>.cu`` (plain CUDA C,
``extern "C"`` entry points, readable on its own).  ``raw_kernel(name, function)`` compiles the file once
per process with CuPy (NVRTC under the hood) and returns the ``cupy.RawKernel`` for one entry point.
Nothing here imports CuPy until a kernel is asked for, so the CPU never pays for it.

``compile_to_ptx(name)`` compiles a source to PTX (the GPU's portable assembly) with NVRTC, the CUDA
runtime compiler, and needs no GPU: the tests use it so that a syntax error or a misspelt entry point
shows on the CPU.  NVRTC comes through CuPy when CuPy is installed, else straight from the NVRTC
library of the ``nvidia-cuda-nvrtc-cu12`` wheel through ``ctypes`` (CI has no CuPy).
"""
import ctypes
import functools
import glob
import os
import re

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


# ---------------------------------------------------------------------------------------------
# NVRTC without a GPU: source -> PTX
# ---------------------------------------------------------------------------------------------
DEFAULT_ARCH = "compute_75"   # the oldest architecture CUDA 12 and 13 both still compile for
OPTIONS = ("--std=c++14",)


class NVRTCError(RuntimeError):
    """NVRTC rejected a source; the message holds its compile log."""


def _nvrtc_library_paths():
    """Where the ``nvidia-cuda-nvrtc-cu12`` wheel puts ``libnvrtc.so.12`` (``nvidia`` is a namespace
    package, so every folder on its path is searched)."""
    try:
        import nvidia
    except ImportError:
        return []
    found = []
    for folder in getattr(nvidia, "__path__", []):
        found += sorted(glob.glob(os.path.join(folder, "cuda_nvrtc", "lib", "libnvrtc.so*")))
    return found


@functools.lru_cache(maxsize=None)
def _ctypes_nvrtc():
    errors = []
    for path in _nvrtc_library_paths() + ["libnvrtc.so.12", "libnvrtc.so"]:
        try:
            lib = ctypes.CDLL(path)
        except OSError as exc:
            errors.append(f"{path}: {exc}")
            continue
        lib.nvrtcGetErrorString.restype = ctypes.c_char_p
        return lib
    raise OSError("cannot load NVRTC (pip install nvidia-cuda-nvrtc-cu12): " + "; ".join(errors))


def nvrtc_backend():
    """'cupy' or 'ctypes': which NVRTC ``compile_to_ptx`` uses; raises OSError when neither loads."""
    try:
        from cupy.cuda import nvrtc  # noqa: F401
        return "cupy"
    except Exception:  # noqa: BLE001  (no CuPy, or a broken one: try the wheel's library)
        _ctypes_nvrtc()
        return "ctypes"


def _ptx_with_ctypes(source, filename, options):
    lib = _ctypes_nvrtc()

    def check(status, what, program=None):
        if status != 0:
            log = _ctypes_log(lib, program) if program is not None else ""
            raise NVRTCError(f"{filename}: {what}: {lib.nvrtcGetErrorString(status).decode()}\n{log}")

    program = ctypes.c_void_p()
    check(lib.nvrtcCreateProgram(ctypes.byref(program), source.encode(), filename.encode(), 0, None, None),
          "nvrtcCreateProgram")
    try:
        opts = (ctypes.c_char_p * len(options))(*[o.encode() for o in options])
        check(lib.nvrtcCompileProgram(program, len(options), opts), "compile", program)
        size = ctypes.c_size_t()
        check(lib.nvrtcGetPTXSize(program, ctypes.byref(size)), "nvrtcGetPTXSize")
        buffer = ctypes.create_string_buffer(size.value)
        check(lib.nvrtcGetPTX(program, buffer), "nvrtcGetPTX")
        return buffer.value.decode()
    finally:
        lib.nvrtcDestroyProgram(ctypes.byref(program))


def _ctypes_log(lib, program):
    size = ctypes.c_size_t()
    if lib.nvrtcGetProgramLogSize(program, ctypes.byref(size)) != 0:
        return ""
    buffer = ctypes.create_string_buffer(size.value)
    lib.nvrtcGetProgramLog(program, buffer)
    return buffer.value.decode(errors="replace")


def _ptx_with_cupy(source, filename, options):
    from cupy.cuda import nvrtc
    program = nvrtc.createProgram(source, filename, [], [])
    try:
        try:
            nvrtc.compileProgram(program, list(options))
        except nvrtc.NVRTCError as exc:
            raise NVRTCError(f"{filename}: compile: {exc}\n{nvrtc.getProgramLog(program)}") from None
        ptx = nvrtc.getPTX(program)
        return ptx.decode() if isinstance(ptx, bytes) else ptx
    finally:
        nvrtc.destroyProgram(program)


def compile_source_to_ptx(source, filename="source.cu", arch=DEFAULT_ARCH, options=OPTIONS):
    """PTX text of CUDA C ``source`` for virtual architecture ``arch``; raises NVRTCError with the log."""
    options = (f"--gpu-architecture={arch}",) + tuple(options)
    if nvrtc_backend() == "cupy":
        return _ptx_with_cupy(source, filename, options)
    return _ptx_with_ctypes(source, filename, options)


def compile_to_ptx(name, arch=DEFAULT_ARCH):
    """PTX text of ``kernels/<name>.cu`` (no GPU needed; the options are ``raw_module``'s)."""
    return compile_source_to_ptx(read_cuda_source(name), f"{name}.cu", arch)


def ptx_entry_points(ptx):
    """The names of the kernels (``.entry``) a PTX text defines."""
    return re.findall(r"\.entry\s+([A-Za-z_][A-Za-z0-9_]*)\s*\(", ptx)
