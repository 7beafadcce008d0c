"""Artifacts, models and sessions."""

import ctypes
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np

from . import _runtime as rt
from ._runtime import check, lib, path_arg

_MODES = {"auto": 0, "recurrent": 1, "parallel": 2}


def _rwkvc():
    env = os.environ.get("RWKV_MLIR_RWKVC")
    if env:
        return env
    local = rt.BUILD_DIR / "bin" / "rwkvc"
    if local.exists():
        return str(local)
    found = shutil.which("rwkvc")
    if found:
        return found
    raise OSError("rwkvc not found: build the project (scripts/build.sh) or "
                  "set RWKV_MLIR_RWKVC to its path")


def compile(spec, output, *, target="host", mode="both", all_logits=True,
            extra_args=()):
    """Compiles a spec (TOML file) with rwkvc into the artifact directory
    `output` and returns its path. `all_logits` builds the parallel-form head
    over every token, so Session.forward returns every position's logits in
    the parallel form too. rwkvc's diagnostics (located in the spec) become
    the message of the RwkvError raised on failure."""
    cmd = [_rwkvc(), os.fspath(spec), "-o", os.fspath(output),
           f"--target={target}", f"--mode={mode}"]
    if all_logits:
        cmd.append("--all-logits")
    cmd += list(extra_args)
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise rt.RwkvError(2, done.stderr.strip() or
                           f"rwkvc exited with status {done.returncode}")
    return Path(output)


class Model:
    """A compiled artifact with its weights bound (immutable; sessions hold
    the per-sequence state). `weights` is a .pth, safetensors or rwkv.cpp
    .bin checkpoint; None gives the runtime's synthetic weights (for
    benchmarks and smoke tests) from `synthetic_seed`."""

    def __init__(self, artifact, weights=None, *, synthetic_seed=0):
        handle = ctypes.c_void_p()
        if weights is None:
            check(lib.rwkv_model_load_synthetic(path_arg(artifact),
                                                synthetic_seed,
                                                ctypes.byref(handle)))
        else:
            check(lib.rwkv_model_load(path_arg(artifact), path_arg(weights),
                                      ctypes.byref(handle)))
        self._h = handle
        self.artifact = Path(artifact)
        self.name = lib.rwkv_model_name(handle).decode()
        self.n_layer = lib.rwkv_model_n_layer(handle)
        self.d_model = lib.rwkv_model_d_model(handle)
        self.vocab_size = lib.rwkv_model_vocab_size(handle)
        self.device = lib.rwkv_model_device(handle).decode()
        self.has_parallel = bool(lib.rwkv_model_has_parallel(handle))
        self.weight_bytes = lib.rwkv_model_weight_bytes(handle)
        self._pip_session = None

    def __del__(self):
        if getattr(self, "_h", None):
            lib.rwkv_model_free(self._h)
            self._h = None

    def __repr__(self):
        return (f"Model({self.name!r}, {self.n_layer} layers, d_model "
                f"{self.d_model}, vocab {self.vocab_size}, {self.device})")

    def session(self, batch=1, *, mode="auto", threads=0, chunk=None):
        """A new session of `batch` sequences in the fresh state."""
        return Session(self, batch, mode=mode, threads=threads, chunk=chunk)

    def forward(self, tokens, state=None):
        """The rwkv pip package's habit: the logits after the last of
        `tokens` and the state after them, starting from `state` (None: the
        fresh state). State is a flat float32 array (Session.state)."""
        if self._pip_session is None:
            self._pip_session = self.session()
        s = self._pip_session
        if state is None:
            s.reset()
        else:
            s.state = state
        logits = s.forward(tokens, all_logits=False)
        return logits, s.state


class Session:
    """Per-sequence state of `batch` sequences and the calls that advance it.
    One thread at a time (the model may be shared)."""

    def __init__(self, model, batch=1, *, mode="auto", threads=0, chunk=None):
        self.model = model  # keeps the model alive
        self.batch = batch
        handle = ctypes.c_void_p()
        check(lib.rwkv_session_create(model._h, batch, ctypes.byref(handle)))
        self._h = handle
        self.mode = mode
        if threads:
            check(lib.rwkv_session_set_threads(handle, threads))
        if chunk:
            check(lib.rwkv_session_set_chunk_size(handle, chunk))

    def __del__(self):
        if getattr(self, "_h", None):
            lib.rwkv_session_free(self._h)
            self._h = None

    @property
    def mode(self):
        return self._mode

    @mode.setter
    def mode(self, value):
        if value not in _MODES:
            raise ValueError(f"mode must be one of {sorted(_MODES)}, got {value!r}")
        check(lib.rwkv_session_set_mode(self._h, _MODES[value]))
        self._mode = value

    def set_check_finite(self, enable=True):
        """Fail the evaluation at the first NaN/Inf, naming where it is."""
        check(lib.rwkv_session_set_check_finite(self._h, int(enable)))

    def set_profile(self, enable=True):
        """Time every entry point from now on (clears what was collected)."""
        check(lib.rwkv_session_set_profile(self._h, int(enable)))

    def profile(self):
        """The per-entry-point profile as a text table (rwkv-run --profile)."""
        needed = ctypes.c_size_t(0)
        check(lib.rwkv_session_profile(self._h, None, 0, ctypes.byref(needed)))
        buf = ctypes.create_string_buffer(needed.value + 1)
        check(lib.rwkv_session_profile(self._h, buf, len(buf),
                                       ctypes.byref(needed)))
        return buf.value.decode()

    def reset(self):
        check(lib.rwkv_session_reset(self._h))

    def _tokens(self, tokens):
        arr = np.ascontiguousarray(tokens, dtype=np.int32)
        if arr.ndim == 1 and self.batch == 1:
            arr = arr[None, :]
        if arr.ndim != 2 or arr.shape[0] != self.batch or arr.shape[1] == 0:
            raise ValueError(f"tokens must be [{self.batch}, T] with T >= 1"
                             + (" (or [T])" if self.batch == 1 else "")
                             + f", got shape {np.shape(tokens)}")
        return arr

    def forward(self, tokens, *, all_logits=True):
        """Evaluates tokens ([T], or [batch, T]) and advances the state.
        Returns the logits after every token, [T, vocab] ([batch, T, vocab]
        for batch > 1), or with all_logits=False those after the last one,
        [vocab] ([batch, vocab])."""
        squeeze = np.ndim(tokens) == 1
        arr = self._tokens(tokens)
        B, T = arr.shape
        V = self.model.vocab_size
        out = np.empty((B, T, V) if all_logits else (B, V), dtype=np.float32)
        fn = (lib.rwkv_session_eval_sequence_all if all_logits
              else lib.rwkv_session_eval_sequence)
        check(fn(self._h, arr.ctypes.data_as(rt.c_i32p), T,
                 out.ctypes.data_as(rt.c_f32p)))
        return out[0] if squeeze else out

    @property
    def state(self):
        """A copy of the whole state, flat float32 (layout:
        rwkv_session_get_state in rwkv/runtime.h)."""
        out = np.empty(lib.rwkv_session_state_size(self._h), dtype=np.float32)
        check(lib.rwkv_session_get_state(self._h, out.ctypes.data_as(rt.c_f32p)))
        return out

    @state.setter
    def state(self, value):
        arr = np.ascontiguousarray(value, dtype=np.float32).reshape(-1)
        size = lib.rwkv_session_state_size(self._h)
        if arr.size != size:
            raise ValueError(f"state has {arr.size} floats; this session's "
                             f"state has {size}")
        check(lib.rwkv_session_set_state(self._h, arr.ctypes.data_as(rt.c_f32p)))

    def save_state(self, path):
        check(lib.rwkv_session_save_state(self._h, path_arg(path)))

    def load_state(self, path):
        check(lib.rwkv_session_load_state(self._h, path_arg(path)))

    def load_state_tuning(self, path):
        check(lib.rwkv_session_load_state_tuning(self._h, path_arg(path)))


def load(artifact, weights=None, **kwargs):
    """Model(artifact, weights): loads a compiled artifact with weights."""
    return Model(artifact, weights, **kwargs)
