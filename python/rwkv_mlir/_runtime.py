"""ctypes declarations of the runtime's C API (rwkv/runtime.h)."""

import ctypes
import ctypes.util
import os
from pathlib import Path

_STATUS = {0: "OK", 1: "IO", 2: "FORMAT", 3: "MISMATCH", 4: "CPU",
           5: "ARGUMENT", 6: "INTERNAL", 7: "DEVICE", 8: "NUMERIC"}

# The source tree's build directory, when the package is used from a checkout.
BUILD_DIR = Path(__file__).resolve().parents[2] / "build"


class RwkvError(RuntimeError):
    """A failing runtime call: `status` is the rwkv_status name (IO, FORMAT,
    MISMATCH, CPU, ARGUMENT, INTERNAL, DEVICE, NUMERIC), the message is the
    runtime's (it names the file, tensor or state and what was expected)."""

    def __init__(self, status, message):
        self.status = _STATUS.get(status, str(status))
        super().__init__(message)


def _find_library():
    env = os.environ.get("RWKV_MLIR_RUNTIME")
    if env:
        return env
    local = BUILD_DIR / "lib" / "librwkv-runtime.so.0"
    if local.exists():
        return str(local)
    found = ctypes.util.find_library("rwkv-runtime")
    if found:
        return found
    raise OSError("librwkv-runtime.so not found: build the project "
                  "(scripts/build.sh) or set RWKV_MLIR_RUNTIME to its path")


_path = _find_library()
lib = ctypes.CDLL(_path)


def runtime_library():
    """The path of the runtime library in use."""
    return _path


c_i64, c_i32, c_f32p = ctypes.c_int64, ctypes.c_int32, ctypes.POINTER(ctypes.c_float)
c_i32p = ctypes.POINTER(ctypes.c_int32)
vp = ctypes.c_void_p


class SamplerParams(ctypes.Structure):
    _fields_ = [("temperature", ctypes.c_float), ("top_p", ctypes.c_float),
                ("top_k", ctypes.c_int32), ("presence_penalty", ctypes.c_float),
                ("frequency_penalty", ctypes.c_float),
                ("penalty_decay", ctypes.c_float), ("seed", ctypes.c_uint64)]


def _decl(name, res, *args):
    f = getattr(lib, name)
    f.restype, f.argtypes = res, list(args)


_decl("rwkv_last_error", ctypes.c_char_p)
_decl("rwkv_model_load", ctypes.c_int, ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(vp))
_decl("rwkv_model_load_synthetic", ctypes.c_int, ctypes.c_char_p, ctypes.c_uint64, ctypes.POINTER(vp))
_decl("rwkv_model_free", None, vp)
for _n in ("vocab_size", "n_layer", "d_model", "weight_bytes", "mapped_weight_bytes"):
    _decl("rwkv_model_" + _n, c_i64, vp)
_decl("rwkv_model_name", ctypes.c_char_p, vp)
_decl("rwkv_model_device", ctypes.c_char_p, vp)
_decl("rwkv_model_has_parallel", ctypes.c_int, vp)
_decl("rwkv_session_create", ctypes.c_int, vp, c_i64, ctypes.POINTER(vp))
_decl("rwkv_session_free", None, vp)
_decl("rwkv_session_reset", ctypes.c_int, vp)
_decl("rwkv_session_eval_sequence", ctypes.c_int, vp, c_i32p, c_i64, c_f32p)
_decl("rwkv_session_eval_sequence_all", ctypes.c_int, vp, c_i32p, c_i64, c_f32p)
_decl("rwkv_session_set_mode", ctypes.c_int, vp, ctypes.c_int)
_decl("rwkv_session_set_chunk_size", ctypes.c_int, vp, c_i64)
_decl("rwkv_session_set_threads", ctypes.c_int, vp, c_i64)
_decl("rwkv_session_set_check_finite", ctypes.c_int, vp, ctypes.c_int)
_decl("rwkv_session_set_profile", ctypes.c_int, vp, ctypes.c_int)
_decl("rwkv_session_profile", ctypes.c_int, vp, ctypes.c_char_p,
      ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t))
_decl("rwkv_session_state_size", c_i64, vp)
_decl("rwkv_session_get_state", ctypes.c_int, vp, c_f32p)
_decl("rwkv_session_set_state", ctypes.c_int, vp, c_f32p)
_decl("rwkv_session_save_state", ctypes.c_int, vp, ctypes.c_char_p)
_decl("rwkv_session_load_state", ctypes.c_int, vp, ctypes.c_char_p)
_decl("rwkv_session_load_state_tuning", ctypes.c_int, vp, ctypes.c_char_p)
_decl("rwkv_tokenizer_load_world", ctypes.c_int, ctypes.c_char_p, ctypes.POINTER(vp))
_decl("rwkv_tokenizer_create_bytes", ctypes.c_int, c_i32, ctypes.POINTER(vp))
_decl("rwkv_tokenizer_free", None, vp)
_decl("rwkv_tokenizer_vocab_size", c_i64, vp)
_decl("rwkv_tokenizer_encode", ctypes.c_int, vp, ctypes.c_char_p, ctypes.c_size_t,
      c_i32p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t))
# Not NUL-terminated: read with ctypes.string_at(pointer, size).
_decl("rwkv_tokenizer_token_bytes", ctypes.c_int, vp, c_i32,
      ctypes.POINTER(vp), ctypes.POINTER(ctypes.c_size_t))
_decl("rwkv_sampler_default_params", SamplerParams)
_decl("rwkv_sampler_create", ctypes.c_int, ctypes.POINTER(SamplerParams), c_i64, ctypes.POINTER(vp))
_decl("rwkv_sampler_free", None, vp)
_decl("rwkv_sampler_sample", ctypes.c_int, vp, c_f32p, c_i32p)
_decl("rwkv_sampler_accept", ctypes.c_int, vp, c_i32, ctypes.c_float)


def check(status):
    """Raises RwkvError with the runtime's message for a failing status."""
    if status != 0:
        raise RwkvError(status, lib.rwkv_last_error().decode("utf-8", "replace"))


def path_arg(path):
    return os.fsencode(os.fspath(path))
