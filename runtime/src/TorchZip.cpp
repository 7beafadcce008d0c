//===- TorchZip.cpp - reading torch.save archives (BlinkDL .pth) ----------===//
//
// torch.save (since PyTorch 1.6) writes a zip archive of stored (not
// compressed) entries under one folder:
//
//   <prefix>/data.pkl     the pickled object: here a flat state_dict
//   <prefix>/data/<key>   the raw bytes of each storage
//   <prefix>/byteorder    "little" (absent in older files, which are little)
//   <prefix>/version, <prefix>/.data/serialization_id
//
// The pickle is executed by a restricted unpickler that knows only what a
// state_dict needs: dicts (collections.OrderedDict), tuples, strings, ints,
// booleans, None, memo operations, torch._utils._rebuild_tensor_v2 and
// _rebuild_parameter, and storages named by persistent ids
// ('storage', torch.<T>Storage, key, location, numel). Every other opcode or
// global is rejected by name; nothing from the file is ever executed.
// Reference: CPython Lib/pickletools.py (opcode table), PyTorch
// torch/serialization.py (_save, _load) and torch/_utils.py.
//
//===----------------------------------------------------------------------===//

#include "Checkpoint.h"

#include <cstring>
#include <map>

namespace rwkvrt {

namespace {

uint32_t load32(const uint8_t *p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

uint64_t load64(const uint8_t *p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

struct ZipEntry {
  uint64_t offset = 0; ///< of the data
  uint64_t size = 0;
};

/// Reads the central directory of a zip archive (with ZIP64 records) and
/// returns name -> stored data extent.
std::map<std::string, ZipEntry> readZip(const std::string &path,
                                        const uint8_t *data, uint64_t size) {
  auto bad = [&](const std::string &what) {
    fail(RWKV_ERROR_FORMAT, path + ": zip archive: " + what);
  };
  auto need = [&](uint64_t at, uint64_t n, const char *what) {
    if (at > size || n > size - at)
      bad(std::string("truncated at byte ") + std::to_string(at) +
          " while reading " + what);
  };
  // End of central directory: 22 bytes plus a comment of up to 64 KiB.
  if (size < 22)
    bad("too short for an end-of-central-directory record");
  uint64_t eocd = UINT64_MAX;
  for (uint64_t at = size - 22;; --at) {
    if (load32(data + at) == 0x06054b50) {
      eocd = at;
      break;
    }
    if (at == 0 || size - at > 22 + 65535)
      break;
  }
  if (eocd == UINT64_MAX)
    bad("no end-of-central-directory record");
  uint64_t count = load16(data + eocd + 10);
  uint64_t dirOffset = load32(data + eocd + 16);
  if (count == 0xFFFF || dirOffset == 0xFFFFFFFF) {
    // ZIP64: a locator just before the EOCD points at the zip64 record.
    if (eocd < 20 || load32(data + eocd - 20) != 0x07064b50)
      bad("ZIP64 sizes without a ZIP64 locator");
    uint64_t rec = load64(data + eocd - 20 + 8);
    need(rec, 56, "the ZIP64 end-of-central-directory record");
    if (load32(data + rec) != 0x06064b50)
      bad("bad ZIP64 end-of-central-directory signature at byte " +
          std::to_string(rec));
    count = load64(data + rec + 32);
    dirOffset = load64(data + rec + 48);
  }
  std::map<std::string, ZipEntry> entries;
  uint64_t at = dirOffset;
  for (uint64_t i = 0; i < count; ++i) {
    need(at, 46, "a central directory entry");
    if (load32(data + at) != 0x02014b50)
      bad("bad central directory signature at byte " + std::to_string(at));
    uint16_t method = load16(data + at + 10);
    uint64_t compSize = load32(data + at + 20);
    uint64_t plainSize = load32(data + at + 24);
    uint16_t nameLen = load16(data + at + 28);
    uint16_t extraLen = load16(data + at + 30);
    uint16_t commentLen = load16(data + at + 32);
    uint64_t local = load32(data + at + 42);
    need(at + 46, uint64_t(nameLen) + extraLen + commentLen,
         "a central directory entry");
    std::string name(reinterpret_cast<const char *>(data + at + 46), nameLen);
    // ZIP64 extended information: the 0xFFFFFFFF fields, in order.
    const uint8_t *extra = data + at + 46 + nameLen;
    for (uint64_t e = 0; e + 4 <= extraLen;) {
      uint16_t id = load16(extra + e), len = load16(extra + e + 2);
      if (e + 4 + len > extraLen)
        break;
      if (id == 0x0001) {
        const uint8_t *f = extra + e + 4, *end = f + len;
        for (uint64_t *field : {&plainSize, &compSize, &local})
          if (*field == 0xFFFFFFFF && f + 8 <= end) {
            *field = load64(f);
            f += 8;
          }
      }
      e += 4 + len;
    }
    need(local, 30, ("the local header of " + quotedName(name)).c_str());
    if (load32(data + local) != 0x04034b50)
      bad("bad local header signature for " + quotedName(name) + " at byte " +
          std::to_string(local));
    uint64_t start =
        local + 30 + load16(data + local + 26) + load16(data + local + 28);
    if (method != 0 && name.size() >= 8 &&
        name.compare(name.size() - 8, 8, "data.pkl") == 0)
      bad("entry " + quotedName(name) + " is compressed (method " +
          std::to_string(method) + "); torch.save stores entries");
    need(start, compSize, ("the data of " + quotedName(name)).c_str());
    entries[name] = ZipEntry{start, method == 0 ? compSize : UINT64_MAX};
    at += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

//===----------------------------------------------------------------------===//
// The restricted unpickler
//===----------------------------------------------------------------------===//

struct PValue;
using Ref = std::shared_ptr<PValue>;

struct PValue {
  enum Kind { None, Bool, Int, Str, Tuple, Dict, Global, Storage, Tensor };
  Kind kind = None;
  int64_t i = 0;            ///< Int, Bool; Storage: numel; Tensor: offset
  std::string s;            ///< Str; Global: "module.name"; Storage: key
  std::vector<Ref> items;   ///< Tuple; Dict: key, value, key, value...
  DType dtype = DType::F32; ///< Storage
  Ref storage;              ///< Tensor
  std::vector<int64_t> shape, strides; ///< Tensor
};

const char *kindName(PValue::Kind k) {
  switch (k) {
  case PValue::None:
    return "None";
  case PValue::Bool:
    return "a bool";
  case PValue::Int:
    return "an int";
  case PValue::Str:
    return "a string";
  case PValue::Tuple:
    return "a tuple";
  case PValue::Dict:
    return "a dict";
  case PValue::Global:
    return "a global";
  case PValue::Storage:
    return "a storage";
  case PValue::Tensor:
    return "a tensor";
  }
  return "?";
}

/// Names of the pickle opcodes (CPython Lib/pickletools.py), so that a
/// rejected one can be named.
const char *opcodeName(uint8_t op) {
  static const std::map<uint8_t, const char *> names = {
      {'(', "MARK"},
      {'.', "STOP"},
      {'0', "POP"},
      {'1', "DUP"},
      {'2', "POP_MARK"},
      {'F', "FLOAT"},
      {'I', "INT"},
      {'J', "BININT"},
      {'K', "BININT1"},
      {'L', "LONG"},
      {'M', "BININT2"},
      {'N', "NONE"},
      {'P', "PERSID"},
      {'Q', "BINPERSID"},
      {'R', "REDUCE"},
      {'S', "STRING"},
      {'T', "BINSTRING"},
      {'U', "SHORT_BINSTRING"},
      {'V', "UNICODE"},
      {'X', "BINUNICODE"},
      {'a', "APPEND"},
      {'b', "BUILD"},
      {'c', "GLOBAL"},
      {'d', "DICT"},
      {'}', "EMPTY_DICT"},
      {'e', "APPENDS"},
      {'g', "GET"},
      {'h', "BINGET"},
      {'i', "INST"},
      {'j', "LONG_BINGET"},
      {'l', "LIST"},
      {']', "EMPTY_LIST"},
      {'o', "OBJ"},
      {'p', "PUT"},
      {'q', "BINPUT"},
      {'r', "LONG_BINPUT"},
      {'s', "SETITEM"},
      {'t', "TUPLE"},
      {')', "EMPTY_TUPLE"},
      {'u', "SETITEMS"},
      {'G', "BINFLOAT"},
      {0x80, "PROTO"},
      {0x81, "NEWOBJ"},
      {0x82, "EXT1"},
      {0x83, "EXT2"},
      {0x84, "EXT4"},
      {0x85, "TUPLE1"},
      {0x86, "TUPLE2"},
      {0x87, "TUPLE3"},
      {0x88, "NEWTRUE"},
      {0x89, "NEWFALSE"},
      {0x8a, "LONG1"},
      {0x8b, "LONG4"},
      {'B', "BINBYTES"},
      {'C', "SHORT_BINBYTES"},
      {0x8c, "SHORT_BINUNICODE"},
      {0x8d, "BINUNICODE8"},
      {0x8e, "BINBYTES8"},
      {0x8f, "EMPTY_SET"},
      {0x90, "ADDITEMS"},
      {0x91, "FROZENSET"},
      {0x92, "NEWOBJ_EX"},
      {0x93, "STACK_GLOBAL"},
      {0x94, "MEMOIZE"},
      {0x95, "FRAME"},
      {0x96, "BYTEARRAY8"},
      {0x97, "NEXT_BUFFER"},
      {0x98, "READONLY_BUFFER"}};
  auto it = names.find(op);
  return it == names.end() ? "unknown" : it->second;
}

/// Storage classes a state_dict may reference, and their element types.
bool storageType(const std::string &global, DType &dtype) {
  if (global == "torch.FloatStorage")
    dtype = DType::F32;
  else if (global == "torch.HalfStorage")
    dtype = DType::F16;
  else if (global == "torch.BFloat16Storage")
    dtype = DType::BF16;
  else
    return false;
  return true;
}

class Unpickler {
public:
  Unpickler(std::string where, const uint8_t *data, uint64_t size)
      : where_(std::move(where)), p_(data), size_(size) {}

  Ref run() {
    while (true) {
      uint64_t at = pos_;
      uint8_t op = byte();
      switch (op) {
      case 0x80: { // PROTO
        uint8_t v = byte();
        if (v > 5)
          bad(at, "pickle protocol " + std::to_string(v) + " (at most 5)");
        break;
      }
      case 0x95: // FRAME
        take(8);
        break;
      case '.': // STOP
        if (stack_.size() != 1 || !marks_.empty())
          bad(at, "STOP with " + std::to_string(stack_.size()) +
                      " values on the stack");
        return stack_.back();
      case '(':
        marks_.push_back(stack_.size());
        break;
      case '}':
        push(make(PValue::Dict));
        break;
      case ')':
        push(make(PValue::Tuple));
        break;
      case 'X':
        pushStr(load32(take(4)));
        break;
      case 0x8c:
        pushStr(byte());
        break;
      case 0x8d:
        pushStr(load64(take(8)));
        break;
      case 'J': {
        int32_t v;
        std::memcpy(&v, take(4), 4);
        pushInt(v);
        break;
      }
      case 'K':
        pushInt(byte());
        break;
      case 'M':
        pushInt(load16(take(2)));
        break;
      case 0x8a: { // LONG1: n bytes, little-endian two's complement
        uint8_t n = byte();
        if (n > 8)
          bad(at, "LONG1 of " + std::to_string(n) + " bytes (at most 8)");
        const uint8_t *b = take(n);
        uint64_t v = 0;
        for (int k = 0; k < n; ++k)
          v |= static_cast<uint64_t>(b[k]) << (8 * k);
        if (n && n < 8 && (b[n - 1] & 0x80))
          v |= ~uint64_t(0) << (8 * n);
        pushInt(static_cast<int64_t>(v));
        break;
      }
      case 'N':
        push(make(PValue::None));
        break;
      case 0x88:
      case 0x89: {
        Ref b = make(PValue::Bool);
        b->i = op == 0x88;
        push(b);
        break;
      }
      case 't': {
        Ref t = make(PValue::Tuple);
        t->items = popToMark(at);
        push(t);
        break;
      }
      case 0x85:
      case 0x86:
      case 0x87: {
        Ref t = make(PValue::Tuple);
        t->items.resize(op - 0x84);
        for (size_t k = t->items.size(); k-- > 0;)
          t->items[k] = pop(at);
        push(t);
        break;
      }
      case 'c': { // GLOBAL "module\nname\n"
        std::string module = line(at), name = line(at);
        pushGlobal(at, module, name);
        break;
      }
      case 0x93: { // STACK_GLOBAL
        Ref name = pop(at), module = pop(at);
        if (name->kind != PValue::Str || module->kind != PValue::Str)
          bad(at, "STACK_GLOBAL needs two strings");
        pushGlobal(at, module->s, name->s);
        break;
      }
      case 'Q':
        push(persistentLoad(at, pop(at)));
        break;
      case 'R': {
        Ref args = pop(at), fn = pop(at);
        push(reduce(at, fn, args));
        break;
      }
      case 'b': { // BUILD: only an OrderedDict's attributes (_metadata)
        Ref state = pop(at);
        if (stack_.empty() || stack_.back()->kind != PValue::Dict)
          bad(at, "BUILD is allowed only on a dict (a state_dict's "
                  "_metadata)");
        break;
      }
      case 's': {
        Ref value = pop(at), key = pop(at);
        setItem(at, key, value);
        break;
      }
      case 'u': {
        std::vector<Ref> kv = popToMark(at);
        if (kv.size() % 2)
          bad(at, "SETITEMS with an odd number of values");
        for (size_t k = 0; k < kv.size(); k += 2)
          setItem(at, kv[k], kv[k + 1]);
        break;
      }
      case 'q':
        memo_[byte()] = top(at);
        break;
      case 'r':
        memo_[load32(take(4))] = top(at);
        break;
      case 0x94:
        memo_[memo_.size()] = top(at);
        break;
      case 'h':
        push(get(at, byte()));
        break;
      case 'j':
        push(get(at, load32(take(4))));
        break;
      default: {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", op);
        bad(at, std::string("pickle opcode ") + hex + " (" + opcodeName(op) +
                    ") is not allowed in a state_dict");
      }
      }
    }
  }

private:
  [[noreturn]] void bad(uint64_t at, const std::string &what) const {
    fail(RWKV_ERROR_FORMAT,
         where_ + " at byte " + std::to_string(at) + ": " + what);
  }
  const uint8_t *take(uint64_t n) {
    if (n > size_ - pos_)
      bad(pos_, "truncated pickle");
    const uint8_t *b = p_ + pos_;
    pos_ += n;
    return b;
  }
  uint8_t byte() { return *take(1); }
  std::string line(uint64_t at) {
    std::string s;
    while (true) {
      char c = static_cast<char>(byte());
      if (c == '\n')
        return s;
      if (s.size() > 256)
        bad(at, "GLOBAL name longer than 256 bytes");
      s += c;
    }
  }
  static Ref make(PValue::Kind k) {
    Ref r = std::make_shared<PValue>();
    r->kind = k;
    return r;
  }
  void push(Ref v) { stack_.push_back(std::move(v)); }
  void pushInt(int64_t v) {
    Ref r = make(PValue::Int);
    r->i = v;
    push(r);
  }
  void pushStr(uint64_t n) {
    Ref r = make(PValue::Str);
    const uint8_t *b = take(n);
    r->s.assign(reinterpret_cast<const char *>(b), n);
    push(r);
  }
  Ref pop(uint64_t at) {
    if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back()))
      bad(at, "pickle stack underflow");
    Ref v = stack_.back();
    stack_.pop_back();
    return v;
  }
  Ref top(uint64_t at) {
    if (stack_.empty())
      bad(at, "memo store with an empty stack");
    return stack_.back();
  }
  std::vector<Ref> popToMark(uint64_t at) {
    if (marks_.empty())
      bad(at, "no MARK on the stack");
    std::vector<Ref> items(stack_.begin() + marks_.back(), stack_.end());
    stack_.resize(marks_.back());
    marks_.pop_back();
    return items;
  }
  Ref get(uint64_t at, uint64_t key) {
    auto it = memo_.find(key);
    if (it == memo_.end())
      bad(at, "memo key " + std::to_string(key) + " was never stored");
    return it->second;
  }
  void pushGlobal(uint64_t at, const std::string &module,
                  const std::string &name) {
    std::string full = module + "." + name;
    DType dtype;
    if (full != "collections.OrderedDict" &&
        full != "torch._utils._rebuild_tensor_v2" &&
        full != "torch._utils._rebuild_parameter" &&
        !storageType(full, dtype)) {
      if (module == "torch" && name.size() > 7 &&
          name.compare(name.size() - 7, 7, "Storage") == 0)
        bad(at, "tensor storage type " + quotedName(full) +
                    " is not supported (FloatStorage, HalfStorage or "
                    "BFloat16Storage)");
      bad(at, "global " + quotedName(full) +
                  " is not allowed in a state_dict (only "
                  "collections.OrderedDict, torch._utils._rebuild_tensor_v2, "
                  "torch._utils._rebuild_parameter and torch "
                  "Float/Half/BFloat16 storages)");
    }
    Ref g = make(PValue::Global);
    g->s = full;
    push(g);
  }
  Ref persistentLoad(uint64_t at, const Ref &pid) {
    // ('storage', storage_type, key, location, numel)
    if (pid->kind != PValue::Tuple || pid->items.size() != 5 ||
        pid->items[0]->kind != PValue::Str || pid->items[0]->s != "storage" ||
        pid->items[1]->kind != PValue::Global ||
        pid->items[2]->kind != PValue::Str ||
        pid->items[4]->kind != PValue::Int)
      bad(at, "persistent id is not ('storage', type, key, location, numel)");
    Ref s = make(PValue::Storage);
    if (!storageType(pid->items[1]->s, s->dtype))
      bad(at, "persistent id names " + quotedName(pid->items[1]->s) +
                  ", not a storage type");
    if (pid->items[4]->i < 0)
      bad(at, "storage " + quotedName(pid->items[2]->s) + " has " +
                  std::to_string(pid->items[4]->i) + " elements");
    s->s = pid->items[2]->s;
    s->i = pid->items[4]->i;
    return s;
  }
  static std::vector<int64_t> ints(const Ref &v, bool &ok) {
    std::vector<int64_t> out;
    ok = v->kind == PValue::Tuple;
    for (const Ref &x : v->items) {
      ok = ok && x->kind == PValue::Int && x->i >= 0;
      out.push_back(x->i);
    }
    return out;
  }
  Ref reduce(uint64_t at, const Ref &fn, const Ref &args) {
    if (fn->kind != PValue::Global)
      bad(at, std::string("REDUCE calls ") + kindName(fn->kind));
    if (args->kind != PValue::Tuple)
      bad(at, "REDUCE arguments are not a tuple");
    const std::vector<Ref> &a = args->items;
    if (fn->s == "collections.OrderedDict") {
      if (!a.empty())
        bad(at, "collections.OrderedDict called with arguments");
      return make(PValue::Dict);
    }
    if (fn->s == "torch._utils._rebuild_tensor_v2") {
      // (storage, storage_offset, size, stride, requires_grad,
      //  backward_hooks[, metadata])
      bool okSize, okStride;
      if (a.size() < 4 || a[0]->kind != PValue::Storage ||
          a[1]->kind != PValue::Int)
        bad(at, "_rebuild_tensor_v2 expects (storage, offset, size, "
                "stride, ...)");
      Ref t = make(PValue::Tensor);
      t->storage = a[0];
      t->i = a[1]->i;
      t->shape = ints(a[2], okSize);
      t->strides = ints(a[3], okStride);
      if (!okSize || !okStride || t->shape.size() != t->strides.size())
        bad(at, "_rebuild_tensor_v2: size and stride must be tuples of "
                "non-negative ints of the same length");
      return t;
    }
    if (fn->s == "torch._utils._rebuild_parameter") {
      if (a.empty() || a[0]->kind != PValue::Tensor)
        bad(at, "_rebuild_parameter expects a tensor");
      return a[0];
    }
    bad(at, quotedName(fn->s) + " cannot be called");
  }
  void setItem(uint64_t at, const Ref &key, const Ref &value) {
    if (stack_.empty() || stack_.back()->kind != PValue::Dict)
      bad(at, "SETITEM(S) on something other than a dict");
    stack_.back()->items.push_back(key);
    stack_.back()->items.push_back(value);
  }

  std::string where_;
  const uint8_t *p_;
  uint64_t size_, pos_ = 0;
  std::vector<Ref> stack_;
  std::vector<size_t> marks_;
  std::map<uint64_t, Ref> memo_;
};

} // namespace

void Checkpoint::indexTorchZip() {
  std::map<std::string, ZipEntry> entries = readZip(path_, data_, size_);
  std::string pickleName;
  for (auto &kv : entries) {
    const std::string &name = kv.first;
    size_t slash = name.find('/');
    if (slash != std::string::npos && name.substr(slash + 1) == "data.pkl") {
      if (!pickleName.empty())
        fail(RWKV_ERROR_FORMAT, path_ + ": two pickles, " +
                                    quotedName(pickleName) + " and " +
                                    quotedName(name));
      pickleName = name;
    }
  }
  if (pickleName.empty())
    fail(RWKV_ERROR_FORMAT, path_ + ": a zip archive without <name>/data.pkl "
                                    "(not written by torch.save)");
  std::string prefix = pickleName.substr(0, pickleName.size() - 8);
  format_ = "PyTorch zip archive";
  auto order = entries.find(prefix + "byteorder");
  if (order != entries.end()) {
    std::string value(
        reinterpret_cast<const char *>(data_ + order->second.offset),
        order->second.size == UINT64_MAX ? 0 : order->second.size);
    if (value != "little")
      fail(RWKV_ERROR_FORMAT, path_ + ": byte order " + quotedName(value) +
                                  "; only little-endian archives are read");
  }
  const ZipEntry &pkl = entries[pickleName];
  Ref root = Unpickler(path_ + ": " + escaped(pickleName), data_ + pkl.offset,
                       pkl.size)
                 .run();
  if (root->kind != PValue::Dict)
    fail(RWKV_ERROR_FORMAT, path_ + ": " + escaped(pickleName) + " holds " +
                                kindName(root->kind) +
                                ", expected a state_dict (a dict of tensors)");
  for (size_t k = 0; k < root->items.size(); k += 2) {
    const Ref &key = root->items[k], &value = root->items[k + 1];
    if (key->kind != PValue::Str)
      fail(RWKV_ERROR_FORMAT, path_ + ": state_dict key is " +
                                  kindName(key->kind) + ", expected a string");
    if (value->kind != PValue::Tensor)
      fail(RWKV_ERROR_FORMAT,
           path_ + ": state_dict entry " + quotedName(key->s) + " is " +
               kindName(value->kind) + ", expected a tensor");
    const PValue &st = *value->storage;
    TensorInfo t;
    t.name = key->s;
    t.type = st.dtype;
    t.typeName = st.dtype == DType::F32   ? "f32"
                 : st.dtype == DType::F16 ? "f16"
                                          : "bf16";
    uint64_t eb = st.dtype == DType::F32 ? 4 : 2;
    t.shape = value->shape;
    const std::string what = "tensor " + quotedName(t.name) + " " +
                             shapeString(t.shape) + " " + t.typeName;
    auto entry = entries.find(prefix + "data/" + st.s);
    if (entry == entries.end())
      fail(RWKV_ERROR_FORMAT, path_ + ": " + what + " uses storage " +
                                  quotedName(st.s) +
                                  ", but the archive has no entry " +
                                  quotedName(prefix + "data/" + st.s));
    if (entry->second.size == UINT64_MAX)
      fail(RWKV_ERROR_FORMAT, path_ + ": storage entry " +
                                  quotedName(entry->first) +
                                  " is compressed; torch.save stores entries");
    // Sizes and strides come from the pickle: every product is checked.
    uint64_t storageBytes;
    if (st.i < 0 || mulOverflows(static_cast<uint64_t>(st.i), eb, storageBytes))
      fail(RWKV_ERROR_FORMAT, path_ + ": storage " + quotedName(entry->first) +
                                  " claims " + std::to_string(st.i) + " " +
                                  t.typeName + " elements");
    if (entry->second.size < storageBytes)
      fail(RWKV_ERROR_FORMAT, path_ + ": storage " + quotedName(entry->first) +
                                  " has " + std::to_string(entry->second.size) +
                                  " bytes, but its " + std::to_string(st.i) +
                                  " " + t.typeName + " elements need " +
                                  std::to_string(storageBytes));
    if (checkedElements(t.shape, eb) < 0)
      fail(RWKV_ERROR_FORMAT,
           path_ + ": " + what + " has more bytes than fit in 64 bits");
    if (value->i < 0)
      fail(RWKV_ERROR_FORMAT, path_ + ": " + what + " has storage offset " +
                                  std::to_string(value->i));
    // The elements the view reaches: offset + sum((size - 1) * stride).
    uint64_t last = static_cast<uint64_t>(value->i), dense = 1;
    bool contiguous = true, overflow = false;
    for (size_t d = t.shape.size(); d-- > 0;) {
      uint64_t size = static_cast<uint64_t>(t.shape[d]);
      uint64_t stride = static_cast<uint64_t>(value->strides[d]), reach;
      if (size > 1 && stride != dense)
        contiguous = false;
      if (size > 0)
        overflow |= mulOverflows(size - 1, stride, reach) ||
                    addOverflows(last, reach, last);
      dense *= size; // bounded by the checked element count
    }
    if (t.elements() > 0 && (overflow || last >= static_cast<uint64_t>(st.i)))
      fail(RWKV_ERROR_FORMAT,
           path_ + ": " + what + " at storage offset " +
               std::to_string(value->i) + " with strides " +
               shapeString(value->strides) + " reaches element " +
               (overflow ? std::string("beyond 2^64") : std::to_string(last)) +
               " of a storage of " + std::to_string(st.i));
    if (!contiguous)
      t.strides = value->strides;
    t.offset = entry->second.offset + static_cast<uint64_t>(value->i) * eb;
    t.bytes = t.elements() > 0
                  ? (last - static_cast<uint64_t>(value->i) + 1) * eb
                  : 0;
    checkExtent(t);
    if (!tensors_.emplace(t.name, t).second)
      fail(RWKV_ERROR_FORMAT,
           path_ + ": state_dict has " + quotedName(t.name) + " twice");
  }
}

} // namespace rwkvrt
