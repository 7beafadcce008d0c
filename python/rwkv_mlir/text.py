"""Tokenizers, the sampler and generation."""

import codecs
import ctypes

import numpy as np

from . import _runtime as rt
from ._runtime import check, lib, path_arg


class Tokenizer:
    """The RWKV World tokenizer (Tokenizer.world(vocab_file)) or a byte
    tokenizer (Tokenizer.bytes(offset): id = byte + offset; 0 for byte-level
    models such as rwkv.cpp's tiny ones)."""

    def __init__(self, handle):
        self._h = handle
        self.vocab_size = lib.rwkv_tokenizer_vocab_size(handle)

    @classmethod
    def world(cls, vocab_path):
        handle = ctypes.c_void_p()
        check(lib.rwkv_tokenizer_load_world(path_arg(vocab_path), ctypes.byref(handle)))
        return cls(handle)

    @classmethod
    def bytes(cls, offset=0):
        handle = ctypes.c_void_p()
        check(lib.rwkv_tokenizer_create_bytes(offset, ctypes.byref(handle)))
        return cls(handle)

    def __del__(self):
        if getattr(self, "_h", None):
            lib.rwkv_tokenizer_free(self._h)
            self._h = None

    def encode(self, text):
        """str or bytes → list of token ids."""
        data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        n = ctypes.c_size_t()
        cap = len(data) + 1  # never more ids than bytes
        ids = (ctypes.c_int32 * cap)()
        check(lib.rwkv_tokenizer_encode(self._h, data, len(data), ids, cap,
                                        ctypes.byref(n)))
        return list(ids[: n.value])

    def token_bytes(self, token):
        ptr, n = ctypes.c_void_p(), ctypes.c_size_t()
        check(lib.rwkv_tokenizer_token_bytes(self._h, int(token), ctypes.byref(ptr),
                                             ctypes.byref(n)))
        return ctypes.string_at(ptr, n.value) if n.value else b""

    def decode(self, tokens, errors="replace"):
        """Token ids → str (ill-formed UTF-8 becomes U+FFFD)."""
        return b"".join(self.token_bytes(t) for t in tokens).decode("utf-8", errors)


class Sampler:
    """The runtime's sampler: the rwkv pip package's PIPELINE rules
    (presence/frequency penalties with decay, top-k, top-p, temperature;
    temperature <= 0 is greedy), reproducible from `seed`."""

    def __init__(self, vocab_size, *, temperature=1.0, top_p=0.85, top_k=0,
                 presence_penalty=0.2, frequency_penalty=0.2,
                 penalty_decay=0.996, seed=0):
        p = rt.SamplerParams(temperature, top_p, top_k, presence_penalty,
                             frequency_penalty, penalty_decay, seed)
        handle = ctypes.c_void_p()
        check(lib.rwkv_sampler_create(ctypes.byref(p), vocab_size, ctypes.byref(handle)))
        self._h = handle
        self.vocab_size = vocab_size

    def __del__(self):
        if getattr(self, "_h", None):
            lib.rwkv_sampler_free(self._h)
            self._h = None

    def sample(self, logits):
        arr = np.ascontiguousarray(logits, dtype=np.float32).reshape(-1)
        if arr.size != self.vocab_size:
            raise ValueError(f"logits have {arr.size} values, vocab is {self.vocab_size}")
        tok = ctypes.c_int32()
        check(lib.rwkv_sampler_sample(self._h, arr.ctypes.data_as(rt.c_f32p),
                                      ctypes.byref(tok)))
        return tok.value

    def accept(self, token, weight=1.0):
        check(lib.rwkv_sampler_accept(self._h, int(token), float(weight)))


def generate(session, tokenizer, prompt, max_tokens=100, *, stop=(),
             callback=None, **sampling):
    """Continues `prompt` (str, or a list of ids) in `session` (batch 1) for
    up to `max_tokens` tokens and returns the generated text, which ends
    before the first of the `stop` strings if one appears (it is not
    included). `callback(text)` receives the text as it becomes complete.
    `sampling`: Sampler's keywords (temperature, top_p, top_k, penalties,
    seed)."""
    if session.batch != 1:
        raise ValueError("generate runs one sequence: use a session of batch 1")
    ids = tokenizer.encode(prompt) if isinstance(prompt, str) else list(prompt)
    if not ids:
        raise ValueError("the prompt encodes to no tokens")
    sampler = Sampler(session.model.vocab_size, **sampling)
    logits = session.forward(ids, all_logits=False)
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    text, shown = "", 0
    held = max((len(s) for s in stop), default=0)
    for _ in range(max_tokens):
        tok = sampler.sample(logits)
        piece = tokenizer.token_bytes(tok)
        # As the pip package: whitespace and digits do not count for the
        # penalties.
        sampler.accept(tok, 0.0 if piece.decode("utf-8", "replace") in " \t0123456789" else 1.0)
        text += decoder.decode(piece)
        cut = min((text.find(s) for s in stop if s in text), default=-1)
        if cut >= 0:
            text = text[:cut]
            break
        # Hold back what could still be the start of a stop string.
        if callback and len(text) - held > shown:
            callback(text[shown: len(text) - held])
            shown = len(text) - held
        logits = session.forward([tok], all_logits=False)
    else:
        text += decoder.decode(b"", final=True)
    if callback and len(text) > shown:
        callback(text[shown:])
    return text
