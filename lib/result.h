// result.h: the error channel of uklp's libraries (runtime, ELF, formats).
//
// Library code never throws: every fallible function returns a [[nodiscard]]
// Result<T> (or Status) that carries either a value or an errno-style code
// plus a human-readable message. The tools turn a failed Status into one
// `uklp: error: ...` line; the runtime sends it over the control socket.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <variant>

namespace uklp {

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(int code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }
  bool is_ok() const { return code_ == 0; }
  explicit operator bool() const { return is_ok(); }
  // A positive errno value (EINVAL, ENOENT, ...); 0 means success.
  int code() const { return code_; }
  const std::string& message() const { return message_; }
  // "message (Error text)", the form the CLI prints after "uklp: error: ".
  std::string describe() const {
    if (code_ == 0) return "ok";
    return message_ + " (" + std::strerror(code_) + ")";
  }

 private:
  int code_ = 0;
  std::string message_;
};

inline Status error(int code, std::string message) { return {code, std::move(message)}; }

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT: implicit by design

  bool is_ok() const { return v_.index() == 0; }
  explicit operator bool() const { return is_ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  Status status() const { return is_ok() ? Status() : std::get<1>(v_); }
  T value_or(T fallback) const { return is_ok() ? std::get<0>(v_) : std::move(fallback); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace uklp

// Propagates a failed Status out of the enclosing function.
#define UKLP_TRY(expr)                       \
  do {                                       \
    ::uklp::Status uklp_try_s_ = (expr);     \
    if (!uklp_try_s_.is_ok()) return uklp_try_s_; \
  } while (0)

#define UKLP_CONCAT_INNER(a, b) a##b
#define UKLP_CONCAT(a, b) UKLP_CONCAT_INNER(a, b)
// Binds the value of a Result<T> to `lhs`, or returns its failed Status.
#define UKLP_ASSIGN_OR_RETURN(lhs, expr)                                   \
  auto UKLP_CONCAT(uklp_r_, __LINE__) = (expr);                           \
  if (!UKLP_CONCAT(uklp_r_, __LINE__).is_ok())                            \
    return UKLP_CONCAT(uklp_r_, __LINE__).status();                        \
  lhs = std::move(UKLP_CONCAT(uklp_r_, __LINE__)).value()
