//===- Error.h - runtime errors ---------------------------------*- C++ -*-===//
//
// Internally the runtime reports failures as exceptions carrying an
// rwkv_status; the C API boundary (CApi.cpp) turns them into a status code
// and a thread-local message.
//
//===----------------------------------------------------------------------===//

#ifndef RWKV_RUNTIME_ERROR_H
#define RWKV_RUNTIME_ERROR_H

#include "rwkv/runtime.h"

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace rwkvrt {

class Error : public std::runtime_error {
public:
  Error(rwkv_status status, const std::string &message)
      : std::runtime_error(message), status_(status) {}
  rwkv_status status() const { return status_; }

private:
  rwkv_status status_;
};

[[noreturn]] inline void fail(rwkv_status status, const std::string &message) {
  throw Error(status, message);
}

/// A string from a file, printable in a message: bytes outside printable
/// ASCII (control bytes, NUL, DEL, non-ASCII) and backslashes become \xNN,
/// so a NUL cannot end a C string and a control byte cannot rewrite a
/// terminal line. Longer than `max` bytes: cut, with "..." appended.
inline std::string escaped(std::string_view s, size_t max = 200) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (s.size() > max)
    out += "...";
  return out;
}

/// `escaped(s)` in single quotes: how messages show names from files.
inline std::string quotedName(std::string_view s, size_t max = 200) {
  return "'" + escaped(s, max) + "'";
}

/// Checked size arithmetic for sizes that come from files: false on
/// overflow (then `out` is unspecified).
inline bool mulOverflows(uint64_t a, uint64_t b, uint64_t &out) {
  return __builtin_mul_overflow(a, b, &out);
}
inline bool addOverflows(uint64_t a, uint64_t b, uint64_t &out) {
  return __builtin_add_overflow(a, b, &out);
}

/// The number of elements of `shape` if every size is >= 0 and the count,
/// and the count times `elementBytes`, fit in int64_t; else -1.
inline int64_t checkedElements(const std::vector<int64_t> &shape,
                               uint64_t elementBytes = 1) {
  uint64_t n = 1;
  for (int64_t d : shape)
    if (d < 0 || mulOverflows(n, static_cast<uint64_t>(d), n))
      return -1;
  uint64_t bytes;
  if (mulOverflows(n, elementBytes ? elementBytes : 1, bytes) ||
      bytes > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    return -1;
  return static_cast<int64_t>(n);
}

} // namespace rwkvrt

#endif // RWKV_RUNTIME_ERROR_H
