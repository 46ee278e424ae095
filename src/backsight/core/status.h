// Status: errors as values at module boundaries (LevelDB style).
#ifndef BACKSIGHT_CORE_STATUS_H_
#define BACKSIGHT_CORE_STATUS_H_

#include <string>
#include <string_view>
#include <utility>

namespace backsight {

/// Outcome of an operation: OK, or an error code with a human-readable message that says
/// where (file, line, byte, field) and why. Copyable and movable; cheap when OK.
class Status {
 public:
  enum class Code {
    kOk = 0,
    kInvalidArgument,
    kNotFound,
    kCorruption,
    kIoError,
    kOutOfRange,
    kResourceExhausted,
    kUnavailable,
    kInternal
  };

  /// The OK status.
  Status() = default;
  static Status OK() { return Status(); }
  /// Bad input from a caller or an outside source (bad CSV row, bad option, bad payload).
  static Status InvalidArgument(std::string msg) {
    return {Code::kInvalidArgument, std::move(msg)};
  }
  static Status NotFound(std::string msg) { return {Code::kNotFound, std::move(msg)}; }
  /// Stored bytes (serialised state) that cannot be decoded.
  static Status Corruption(std::string msg) { return {Code::kCorruption, std::move(msg)}; }
  static Status IoError(std::string msg) { return {Code::kIoError, std::move(msg)}; }
  /// A value outside its allowed range (e.g. an out-of-order timestamp).
  static Status OutOfRange(std::string msg) { return {Code::kOutOfRange, std::move(msg)}; }
  /// A configured limit (series cap, queue depth) was reached; retrying later may succeed.
  static Status ResourceExhausted(std::string msg) {
    return {Code::kResourceExhausted, std::move(msg)};
  }
  static Status Unavailable(std::string msg) { return {Code::kUnavailable, std::move(msg)}; }
  static Status Internal(std::string msg) { return {Code::kInternal, std::move(msg)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return msg_; }
  /// "OK" or "<CodeName>: <message>".
  std::string ToString() const;
  /// Returns a copy whose message is prefixed with `context + ": "` (OK stays OK).
  Status WithContext(std::string_view context) const;

 private:
  Status(Code c, std::string m) : code_(c), msg_(std::move(m)) {}
  Code code_ = Code::kOk;
  std::string msg_;
};

}  // namespace backsight

#define BACKSIGHT_RETURN_IF_ERROR(expr) \
  do {                                  \
    ::backsight::Status _st = (expr);   \
    if (!_st.ok()) return _st;          \
  } while (0)

#endif  // BACKSIGHT_CORE_STATUS_H_
