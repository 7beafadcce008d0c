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

#include <stdexcept>
#include <string>

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

} // namespace rwkvrt

#endif // RWKV_RUNTIME_ERROR_H
