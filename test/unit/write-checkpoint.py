#!/usr/bin/env python3
"""Writes test checkpoints from an rwkv.cpp RWKV-7 .bin, with the standard
library only (no torch, no numpy).

Layouts:
  rwkvcpp   the names and shapes of the .bin, unchanged
  official  BlinkDL's .pth layout (rwkv-math §7): att.x_rwkvag is split into
            att.x_r, x_w, x_k, x_v, x_a, x_g [1, 1, C] and the LoRA matrices
            are stored [in, out] again
  fla       the fla / Hugging Face names (rwkv-math §7 table)
  from1     the official layout with blocks numbered from 1 under other
            names, as some published variants store them: blocks.N.att.* ->
            rwkvM.*, blocks.N.ffn.* -> ffnM.*, blocks.N.ln1/ln2 -> lnMa/lnMb
            (M = N + 1), blocks.0.ln0 -> ln0
  llamacpp  what llama.cpp's convert_hf_to_gguf.py writes for RWKV-7 (and,
            from an RWKV-6 .bin, for RWKV-6): token_embd, blk.N.attn_norm,
            blk.N.time_mix_*, channel_mix_*, output_norm, output; the token
            shift mixes stacked in time_mix_lerp_fused [K, 1, 1, C] (v7:
            r, w, k, v, a, g; v6: w, k, v, r, g), vectors squeezed, r_k
            flattened, LoRA matrices [out, in], dummy time_mix_v0/v1/v2 in
            block 0 (copies of a0/a1/a2, as the converter writes them), and
            with --rescale-every=N (RWKV-6) time_mix_output and
            channel_mix_value of block b divided by 2^(b // N), recorded in
            rwkv6.rescale_every_n_layers

Formats:
  pth          a torch.save zip archive: data.pkl is written by Python's
               pickle (protocol 2, as torch.save uses) through stand-in
               `torch` modules, storages are stored entries aligned to 64
               bytes like torch does
  safetensors  JSON header + data
  gguf         llama.cpp's GGUF v3 (ggml's docs/gguf.md): metadata
               general.architecture and general.alignment (32), tensor infos
               with dimensions innermost first, data aligned to 32 bytes;
               the tensor names are the layout's (a name map to llama.cpp's
               blk.N.* names is a spec's checkpoint table)

Dtypes: f32, f16, bf16 (round to nearest even), and f32-bf16: f32 holding
the bf16-rounded values (the reference for a bf16 file).

--quantize=q8_0|q4_0 (GGUF) stores the matrices llama.cpp's quantizer
quantizes (two dimensions, rows a multiple of 32 elements, not the LoRA or
lerp tensors, under llama.cpp's or rwkv.cpp/BlinkDL/fla names) in ggml's
Q8_0 / Q4_0 blocks, rounding as ggml's reference quantizers do, in f32
arithmetic; --dequantized stores the same values widened back to f32
(the reference for the quantized file).

--jitter scales every weight by 1 + 2^-10·u, u uniform in [-1, 1] from a
fixed generator, so that the values are no longer bf16-exact (the tiny
models were trained in bf16 and store bf16-exact f32 values).

--round-matrices rounds the matrices (tensors of exactly two dimensions,
both > 1, except the embedding) to bf16 values kept in f32: what kernels that read
bf16 projection weights see.

--strided stores head.weight as a transposed view (stride (1, rows)) of a
storage holding its transpose, as torch.save does for a non-contiguous
tensor. --evil=global|opcode|storage writes a .pth whose pickle uses a global
outside the allowed set (os.system), an opcode a state_dict never needs
(BINFLOAT), or a storage type the runtime does not read (DoubleStorage);
--evil=numel|shape one whose sizes overflow 64 bits (a storage of 2^62
floats, a [2^62, 2^62] tensor); --evil=broadcast an emb.weight that is a
[2^40] stride-0 view of one float.
"""

import argparse
import array
import collections
import json
import pickle
import struct
import sys
import types
import zipfile

LORA = ("w1", "w2", "a1", "a2", "v1", "v2", "g1", "g2")
MIX = ("r", "w", "k", "v", "a", "g")  # rwkv.cpp's att.x_rwkvag order


def read_rwkvcpp(path):
    """name -> (shape (torch order), array('f')) from an F32/F16 .bin."""
    data = open(path, "rb").read()
    magic, version = struct.unpack_from("<2i", data, 0)
    assert magic == 0x67676D66, "not an rwkv.cpp file"
    off, out = 24, collections.OrderedDict()
    while off < len(data):
        dims, key_len, dtype = struct.unpack_from("<3i", data, off)
        off += 12
        shape = struct.unpack_from("<%di" % dims, data, off)[::-1]
        off += 4 * dims
        name = data[off:off + key_len].decode()
        off += key_len
        n = 1
        for d in shape:
            n *= d
        if dtype == 0:
            values = array.array("f", data[off:off + 4 * n])
            off += 4 * n
        elif dtype == 1:
            values = array.array(
                "f", struct.unpack_from("<%de" % n, data, off))
            off += 2 * n
        else:
            sys.exit("%s: tensor %s has type %d; only F32/F16 files are read"
                     % (path, name, dtype))
        out[name] = (list(shape), values)
    return out


def transpose(shape, values):
    rows, cols = shape
    t = array.array("f", bytes(4 * rows * cols))
    for i in range(rows):
        for j in range(cols):
            t[j * rows + i] = values[i * cols + j]
    return [cols, rows], t


def to_official(tensors):
    out = collections.OrderedDict()
    for name, (shape, values) in tensors.items():
        leaf = name.rsplit(".", 1)[-1]
        if name.endswith("att.x_rwkvag"):
            c = shape[-1]
            prefix = name[:-len("x_rwkvag")]
            for i, m in enumerate(MIX):
                out[prefix + "x_" + m] = ([1, 1, c], values[i * c:(i + 1) * c])
        elif ".att." in name and leaf in LORA:
            out[name] = transpose(shape, values)
        else:
            out[name] = (shape, values)
    return out


def to_fla(official):
    """BlinkDL names -> fla names (rwkv-math §7, fla convert_from_rwkv7)."""
    out = collections.OrderedDict()
    for name, (shape, values) in official.items():
        parts = name.split(".")
        if name == "emb.weight":
            new = "model.embeddings.weight"
        elif parts[0] == "ln_out":
            new = "model.norm." + parts[1]
        elif parts[0] == "head":
            new = "lm_head.weight"
        else:
            layer, rest = parts[1], parts[2:]
            p = "model.layers.%s." % layer
            norm = {"ln0": "pre_norm", "ln1": "attn_norm", "ln2": "ffn_norm"}
            if rest[0] in norm:
                new = p + norm[rest[0]] + "." + rest[1]
            elif rest[0] == "ffn":
                new = p + "ffn." + ".".join(rest[1:])
                if rest[1] == "x_k":
                    shape = [shape[-1]]
            else:  # att
                leaf = rest[1]
                proj = {"receptance": "r_proj", "key": "k_proj",
                        "value": "v_proj", "output": "o_proj",
                        "ln_x": "g_norm"}
                if leaf in proj:
                    new = p + "attn." + proj[leaf] + "." + rest[2]
                elif leaf in LORA or leaf in ("w0", "a0", "v0"):
                    kind, idx = leaf[0], leaf[1]
                    base = p + "attn.%s_lora.lora." % kind
                    if idx == "0":
                        new, shape = base + "2.bias", [shape[-1]]
                    else:
                        # fla keeps nn.Linear's [out, in]: the transpose of
                        # BlinkDL's [in, out].
                        shape, values = transpose(shape, values)
                        new = base + ("0.weight" if idx == "1" else
                                      "2.weight")
                elif leaf in ("k_k", "k_a"):
                    new, shape = p + "attn." + leaf, [shape[-1]]
                else:  # x_*, r_k
                    new = p + "attn." + leaf
        out[new] = (shape, values)
    return out


def to_from1(official):
    out = collections.OrderedDict()
    for name, value in official.items():
        parts = name.split(".")
        if parts[0] == "blocks":
            m = int(parts[1]) + 1
            kind, rest = parts[2], ".".join(parts[3:])
            if kind == "ln0":
                name = "ln0." + rest
            elif kind in ("ln1", "ln2"):
                name = "ln%d%s.%s" % (m, "a" if kind == "ln1" else "b", rest)
            else:
                name = "%s%d.%s" % ("rwkv" if kind == "att" else "ffn", m,
                                    rest)
        out[name] = value
    return out


def squeezed(shape):
    return [d for d in shape if d != 1] or [1]


def to_llamacpp(tensors, rescale_every=0):
    """rwkv.cpp names -> llama.cpp GGUF names (convert_hf_to_gguf.py,
    Rwkv6Model / Rwkv7Model, and gguf-py's tensor names)."""
    v7 = any(n.endswith("att.x_rwkvag") for n in tensors)
    out = collections.OrderedDict()
    glob = {"emb.weight": "token_embd.weight",
            "blocks.0.ln0.weight": "token_embd_norm.weight",
            "blocks.0.ln0.bias": "token_embd_norm.bias",
            "ln_out.weight": "output_norm.weight",
            "ln_out.bias": "output_norm.bias", "head.weight": "output.weight"}
    att = {"receptance.weight": "receptance", "key.weight": "key",
           "value.weight": "value", "output.weight": "output",
           "gate.weight": "gate", "time_decay": "decay",
           "time_decay_w1": "decay_w1", "time_decay_w2": "decay_w2",
           "time_maa_x": "lerp_x", "time_maa_w1": "w1", "time_maa_w2": "w2",
           "time_faaaa": "first"}
    ffn = {"x_k": "lerp_k", "time_maa_k": "lerp_k", "time_maa_r": "lerp_r",
           "key.weight": "key", "receptance.weight": "receptance",
           "value.weight": "value"}
    lerps = collections.defaultdict(dict)
    for name, (shape, values) in tensors.items():
        if name in glob:
            out[glob[name]] = (shape, values)
            continue
        parts = name.split(".")
        b, kind, leaf = int(parts[1]), parts[2], ".".join(parts[3:])
        p = "blk.%d." % b
        scale = 2.0 ** (b // rescale_every) if rescale_every else 1.0
        if kind in ("ln1", "ln2"):
            new = p + ("attn_norm." if kind == "ln1" else "attn_norm_2.") + leaf
        elif kind == "ffn":
            new = p + "channel_mix_" + ffn[leaf] + ".weight"
            if leaf.startswith("x_") or leaf.startswith("time_maa"):
                shape = squeezed(shape)
            if leaf == "value.weight" and scale != 1.0:
                values = array.array("f", [x / scale for x in values])
        elif leaf == "x_rwkvag":
            c = shape[-1]
            new, shape = p + "time_mix_lerp_fused.weight", [6, 1, 1, c]
        elif leaf in ("time_maa_w", "time_maa_k", "time_maa_v", "time_maa_r",
                      "time_maa_g"):
            lerps[b][leaf[-1]] = values
            if len(lerps[b]) == 5:
                c = shape[-1]
                stacked = array.array("f")
                for m in "wkvrg":
                    stacked.extend(lerps[b][m])
                out[p + "time_mix_lerp_fused.weight"] = ([5, 1, 1, c], stacked)
            continue
        elif leaf == "ln_x.weight" or leaf == "ln_x.bias":
            new = p + "time_mix_ln." + leaf.split(".")[1]
        elif leaf in att:
            new = p + "time_mix_" + att[leaf] + ".weight"
            if leaf in ("time_decay", "time_maa_x"):
                shape = [len(values)]
            elif leaf == "time_faaaa":
                shape = squeezed(shape)
            if leaf == "output.weight" and scale != 1.0:
                values = array.array("f", [x / scale for x in values])
        else:  # RWKV-7: w0..g2, k_k, k_a, r_k
            new = p + "time_mix_" + leaf + ".weight"
            shape = squeezed(shape) if leaf not in LORA else shape
            if leaf == "r_k":
                shape = [len(values)]
        out[new] = (shape, values)
    if v7:
        # The converter writes dummy v0/v1/v2 into block 0 (copies of the
        # a LoRA) "to make llama happy"; nothing reads them.
        for suffix in ("0", "1", "2"):
            src = "blk.0.time_mix_a%s.weight" % suffix
            dst = "blk.0.time_mix_v%s.weight" % suffix
            if src in out and dst not in out:
                out[dst] = out[src]
    return out


def f16_round(x):
    return struct.unpack("<e", struct.pack("<e", x))[0]


def f32_round(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def ggml_round(x):
    """roundf: halves away from zero."""
    return int(x + 0.5) if x >= 0 else -int(-x + 0.5)


def quantize_blocks(values, kind):
    """ggml's reference Q8_0 / Q4_0 quantizers: (block bytes, the values
    the blocks decode to)."""
    blob, back = bytearray(), array.array("f")
    for at in range(0, len(values), 32):
        xs = values[at:at + 32]
        if kind == "q8_0":
            # In f32 arithmetic, as ggml (and the runtime) compute it: an
            # f32 quotient or product of f32 values is the double one
            # rounded to f32.
            amax = max(abs(x) for x in xs)
            d = f32_round(amax / 127.0)
            inv = f32_round(1.0 / d) if d else 0.0
            qs = [ggml_round(f32_round(x * inv)) for x in xs]
            dh = f16_round(d)
            blob += struct.pack("<e", d) + struct.pack("<32b", *qs)
            back.extend(q * dh for q in qs)
        else:  # q4_0
            big = max(xs, key=abs)
            d = f32_round(big / -8.0)
            inv = f32_round(1.0 / d) if d else 0.0
            qs = [min(15, int(f32_round(f32_round(x * inv) + 8.5)))
                  for x in xs]
            dh = f16_round(d)
            blob += struct.pack("<e", d)
            blob += bytes(qs[j] | (qs[j + 16] << 4) for j in range(16))
            back.extend((q - 8) * dh for q in qs)
    return bytes(blob), back


def quantizable(name, shape):
    """The tensors llama.cpp's quantizer quantizes for RWKV: matrices whose
    rows hold whole 32-element blocks, not the small LoRA / lerp tensors."""
    parts = name.split(".")
    leaf = parts[-2] if len(parts) > 1 and parts[-1] == "weight" else parts[-1]
    small = ("time_mix_w1", "time_mix_w2", "time_mix_a1", "time_mix_a2",
             "time_mix_v1", "time_mix_v2", "time_mix_g1", "time_mix_g2",
             "time_mix_decay_w1", "time_mix_decay_w2", "time_mix_lerp_fused",
             "time_mix_first",
             # the same LoRA factors under rwkv.cpp / BlinkDL / fla names
             "w1", "w2", "a1", "a2", "v1", "v2", "g1", "g2", "time_decay_w1",
             "time_decay_w2", "time_maa_w1", "time_maa_w2")
    return (len(shape) == 2 and min(shape) > 1 and shape[-1] % 32 == 0 and
            leaf not in small and "_lora." not in name)


def jitter(tensors):
    state = 12345
    for name, (shape, values) in tensors.items():
        for i in range(len(values)):
            state = (state * 6364136223846793005 + 1442695040888963407) % 2**64
            u = (state >> 11) / float(2**53) * 2 - 1
            values[i] = values[i] * (1 + u / 1024)


def bf16_bits(values):
    """Round-to-nearest-even f32 -> bf16 bit patterns."""
    words = array.array("I", values.tobytes())
    return array.array(
        "H", [((w + 0x7FFF + ((w >> 16) & 1)) >> 16) & 0xFFFF for w in words])


def encode(values, dtype):
    """(bytes, element size) of values in dtype."""
    if dtype == "f32":
        return values.tobytes(), 4
    if dtype == "f16":
        return struct.pack("<%de" % len(values), *values), 2
    if dtype == "bf16":
        return bf16_bits(values).tobytes(), 2
    if dtype == "f32-bf16":
        words = array.array("I", [b << 16 for b in bf16_bits(values)])
        return words.tobytes(), 4
    raise ValueError(dtype)


def write_safetensors(path, tensors, dtype):
    header, blobs, offset = {}, [], 0
    st_dtype = {"f32": "F32", "f32-bf16": "F32", "f16": "F16",
                "bf16": "BF16"}[dtype]
    for name, (shape, values) in tensors.items():
        blob, _ = encode(values, dtype)
        header[name] = {"dtype": st_dtype, "shape": shape,
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header).encode()
    text += b" " * (-(8 + len(text)) % 8)  # align the data to 8 bytes
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def write_gguf(path, tensors, dtype, arch="rwkv7", meta_u32=(),
               quantize=None):
    ggml_type = {"f32": 0, "f32-bf16": 0, "f16": 1, "bf16": 30}[dtype]

    def gstr(text):
        data = text.encode()
        return struct.pack("<Q", len(data)) + data

    meta = (gstr("general.alignment") + struct.pack("<II", 4, 32) +
            gstr("general.architecture") + struct.pack("<I", 8) + gstr(arch))
    for key, value in meta_u32:
        meta += gstr(key) + struct.pack("<II", 4, value)
    infos, blobs, offset = b"", [], 0
    for name, (shape, values) in tensors.items():
        kind = ggml_type
        if quantize and quantizable(name, shape):
            blob, _ = quantize_blocks(values, quantize)
            kind = {"q8_0": 8, "q4_0": 2}[quantize]
        else:
            blob, _ = encode(values, dtype)
        offset += -offset % 32
        infos += gstr(name) + struct.pack("<I", len(shape))
        infos += b"".join(struct.pack("<Q", d) for d in reversed(shape))
        infos += struct.pack("<IQ", kind, offset)
        blobs.append((offset, blob))
        offset += len(blob)
    n_kv = 2 + len(meta_u32)
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), n_kv) + meta + infos
    head += b"\0" * (-len(head) % 32)
    with open(path, "wb") as f:
        f.write(head)
        at = 0
        for off, blob in blobs:
            f.write(b"\0" * (off - at))
            f.write(blob)
            at = off + len(blob)


# --- stand-ins for the torch globals a state_dict pickle references ---------

def install_fake_torch():
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):
        raise RuntimeError("never called")

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    storages = {}
    for cls in ("FloatStorage", "HalfStorage", "BFloat16Storage",
                "DoubleStorage"):
        t = type(cls, (), {"__module__": "torch"})
        setattr(torch, cls, t)
        storages[cls] = t
    torch._utils = utils
    sys.modules["torch"] = torch
    sys.modules["torch._utils"] = utils
    return _rebuild_tensor_v2, storages


class StorageRef:
    def __init__(self, key, storage_type, numel):
        self.key, self.storage_type, self.numel = key, storage_type, numel


class TensorRef:
    def __init__(self, rebuild, storage, size, stride):
        self.rebuild, self.storage = rebuild, storage
        self.size, self.stride = tuple(size), tuple(stride)

    def __reduce_ex__(self, protocol):
        return (self.rebuild, (self.storage, 0, self.size, self.stride, False,
                               collections.OrderedDict()))


class TorchPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, StorageRef):
            return ("storage", obj.storage_type, obj.key, "cpu", obj.numel)
        return None


def dense_strides(shape):
    strides, s = [], 1
    for d in reversed(shape):
        strides.insert(0, s)
        s *= d
    return strides


def write_zip(path, pickle_bytes, storages):
    """torch.save's layout: archive/data.pkl, archive/data/<key>, ...; data
    records start on 64-byte boundaries (torch pads the local header's extra
    field)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        records = [("archive/data.pkl", pickle_bytes),
                   ("archive/byteorder", b"little")]
        records += [("archive/data/%s" % k, b) for k, b in storages]
        records += [("archive/version", b"3\n")]
        for name, blob in records:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            start = z.fp.tell() + 30 + len(name) + 4
            pad = -start % 64
            info.extra = struct.pack("<HH", 0x4246, pad) + b"Z" * pad
            z.writestr(info, blob)


def write_pth(path, tensors, dtype, strided=False):
    rebuild, types_ = install_fake_torch()
    storage_type = {"f32": "FloatStorage", "f32-bf16": "FloatStorage",
                    "f16": "HalfStorage", "bf16": "BFloat16Storage"}[dtype]
    state = collections.OrderedDict()
    blobs = []
    for i, (name, (shape, values)) in enumerate(tensors.items()):
        stride = dense_strides(shape)
        if strided and name in ("head.weight", "lm_head.weight"):
            # The storage holds the transpose; the tensor is its .t() view.
            tshape, tvalues = transpose(shape, values)
            values, stride = tvalues, [1, shape[0]]
        blob, size = encode(values, dtype)
        key = str(i)
        blobs.append((key, blob))
        ref = StorageRef(key, types_[storage_type], len(blob) // size)
        state[name] = TensorRef(rebuild, ref, shape, stride)
    # nn.Module.state_dict() carries _metadata, which pickle writes as BUILD.
    state._metadata = collections.OrderedDict([("", {"version": 1})])
    buf = __import__("io").BytesIO()
    TorchPickler(buf, protocol=2).dump(state)
    write_zip(path, buf.getvalue(), blobs)


def write_evil(path, kind):
    rebuild, types_ = install_fake_torch()
    if kind == "global":
        pkl = b"\x80\x02cos\nsystem\nq\x00X\x04\x00\x00\x00trueq\x01\x85q\x02Rq\x03."
    elif kind == "opcode":
        pkl = pickle.dumps({"blocks.0.ln1.weight": 1.5}, protocol=2)
    elif kind == "storage":
        buf = __import__("io").BytesIO()
        ref = StorageRef("0", types_["DoubleStorage"], 1)
        TorchPickler(buf, protocol=2).dump(
            {"x": TensorRef(rebuild, ref, [1], [1])})
        pkl = buf.getvalue()
    elif kind in ("numel", "shape"):
        # Sizes whose byte counts overflow 64 bits: a storage of 2^62
        # floats, or a [2^62, 2^62] view of a 2-float storage.
        buf = __import__("io").BytesIO()
        numel, size = (2**62, [1]) if kind == "numel" else (2, [2**62, 2**62])
        ref = StorageRef("0", types_["FloatStorage"], numel)
        TorchPickler(buf, protocol=2).dump(
            {"x": TensorRef(rebuild, ref, size, dense_strides(size))})
        pkl = buf.getvalue()
    elif kind == "broadcast":
        # emb.weight as a [2^40] view with stride 0 of one float: valid
        # extents, but 2^40 elements to gather.
        buf = __import__("io").BytesIO()
        ref = StorageRef("0", types_["FloatStorage"], 1)
        TorchPickler(buf, protocol=2).dump(
            {"emb.weight": TensorRef(rebuild, ref, [2**40], [0])})
        pkl = buf.getvalue()
    else:
        raise ValueError(kind)
    write_zip(path, pkl, [("0", b"\0" * 8)])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("input", nargs="?", help="rwkv.cpp RWKV-7 .bin")
    ap.add_argument("output")
    ap.add_argument("--format", choices=("pth", "safetensors", "gguf"),
                    default="pth")
    ap.add_argument("--layout",
                    choices=("rwkvcpp", "official", "fla", "from1", "llamacpp"),
                    default="official")
    ap.add_argument("--rescale-every", type=int, default=0)
    ap.add_argument("--quantize", choices=("q8_0", "q4_0"))
    ap.add_argument("--dequantized", action="store_true")
    ap.add_argument("--dtype", choices=("f32", "f16", "bf16", "f32-bf16"),
                    default="f32")
    ap.add_argument("--strided", action="store_true")
    ap.add_argument("--jitter", action="store_true")
    ap.add_argument("--round-matrices", action="store_true")
    ap.add_argument("--evil",
                    choices=("global", "opcode", "storage", "numel", "shape",
                             "broadcast"))
    a = ap.parse_args()
    if a.evil:
        write_evil(a.output, a.evil)
        return
    tensors = read_rwkvcpp(a.input)
    v6 = any(n.endswith("att.time_maa_x") for n in tensors)
    if a.layout == "llamacpp":
        tensors = to_llamacpp(tensors, a.rescale_every)
    elif a.layout != "rwkvcpp":
        tensors = to_official(tensors)
    if a.layout == "fla":
        tensors = to_fla(tensors)
    if a.layout == "from1":
        tensors = to_from1(tensors)
    if a.jitter:
        jitter(tensors)
    if a.round_matrices:
        for name, (shape, values) in tensors.items():
            matrix = len(shape) == 2 and min(shape) > 1
            if matrix and "emb" not in name and "embeddings" not in name:
                rounded = array.array("I", [b << 16 for b in bf16_bits(values)])
                values[:] = array.array("f", rounded.tobytes())
    if a.quantize and a.dequantized:
        for name, (shape, values) in tensors.items():
            if quantizable(name, shape):
                values[:] = quantize_blocks(values, a.quantize)[1]
        a.quantize = None
    if a.format == "pth":
        write_pth(a.output, tensors, a.dtype, a.strided)
    elif a.format == "gguf":
        arch = "rwkv6" if v6 else "rwkv7"
        meta = []
        if a.rescale_every:
            meta.append(("rwkv6.rescale_every_n_layers", a.rescale_every))
        write_gguf(a.output, tensors, a.dtype, arch, meta, a.quantize)
    else:
        write_safetensors(a.output, tensors, a.dtype)


if __name__ == "__main__":
    main()
