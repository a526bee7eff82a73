#pragma once
// The one error model: fallible functions return Result<T>; Error carries a
// code and a message a person can act on. Context is added on the way up.

#include <string>
#include <tl/expected.hpp>
#include <utility>

namespace agora {

enum class ErrorCode {
  kInvalidArgument,
  kNotFound,
  kAlreadyExists,
  kFailedPrecondition,
  kPermissionDenied,
  kUnavailable,
  kTimeout,
  kIo,
  kProtocol,
  kTooLarge,  // input past a size limit (a frame that would unpack too far)
  kInternal,
};

const char* errorCodeName(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;

  // "context: message"
  Error withContext(const std::string& context) const {
    return Error{code, context + ": " + message};
  }
  std::string toString() const;
};

template <class T>
using Result = tl::expected<T, Error>;
using Status = Result<void>;

inline tl::unexpected<Error> makeError(ErrorCode code, std::string message) {
  return tl::unexpected<Error>(Error{code, std::move(message)});
}
inline tl::unexpected<Error> makeError(Error error) { return tl::unexpected<Error>(std::move(error)); }

// errno-based error: "<what>: <strerror(errno)>".
Error errnoError(const std::string& what, int err);

}  // namespace agora
