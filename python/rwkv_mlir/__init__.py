"""rwkv_mlir: RWKV models compiled by rwkvc, run from Python.

A thin ctypes layer over the runtime's C API (runtime/include/rwkv/runtime.h);
it has no compiler and no RWKV math of its own. Arrays are numpy float32.

    import rwkv_mlir as rm
    art = rm.compile("specs/rwkvcpp-tiny-7v0.toml", "out/tiny7")
    model = rm.load(art, "tiny-rwkv-7v0-834K-FP32.bin")
    s = model.session()
    logits = s.forward([34, 105, 110])        # [3, vocab]: every position
    state = s.state                           # numpy copy; s.state = state
    tok = rm.Tokenizer.bytes()                # or rm.Tokenizer.world(path)
    print(rm.generate(s, tok, "The", 20, temperature=0))

`model.forward(tokens, state)` returns `(last_logits, state)` as the rwkv pip
package's RWKV.forward does.

The runtime library is found through $RWKV_MLIR_RUNTIME, else the build tree
this package sits in (build/lib), else the system's library path; rwkvc
through $RWKV_MLIR_RWKVC, else build/bin, else PATH.
"""

from ._runtime import RwkvError, runtime_library
from .model import Model, Session, load, compile
from .text import Tokenizer, Sampler, generate

__all__ = ["RwkvError", "Model", "Session", "Tokenizer", "Sampler", "load",
           "compile", "generate", "runtime_library"]
