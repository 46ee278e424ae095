// Status: errors as values at module boundaries (LevelDB style), with a typed reason.
#ifndef BACKSIGHT_CORE_STATUS_H_
#define BACKSIGHT_CORE_STATUS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace backsight {

/// Why an operation failed, finer than Status::Code, so that callers branch and count on a value
/// instead of searching the message. Each value has a stable snake_case name (ReasonName) used as
/// a metrics label value (`backsight_decode_errors_total{reason=...}`, detector reject counts):
/// never rename one. kNone means "no finer reason given" (and is the reason of OK).
enum class Reason : uint8_t {
  kNone = 0,              // "none": OK, or an error with no finer reason
  kMalformed,             // "malformed": bytes or text that do not follow the format's grammar
  kTooLarge,              // "too_large": a body, line or decompressed size above a limit
  kUnsupportedEncoding,   // "content_encoding": a Content-Encoding the endpoint does not take
  kUnsupportedMediaType,  // "content_type": a Content-Type the endpoint does not take
  kCompression,           // "compression": a gzip/deflate body that does not inflate
  kSnappy,                // "snappy": a body that is not valid snappy block compression
  kUtf8,                  // "utf8": a string that is not valid UTF-8
  kJson,                  // "json": text that is not JSON, or JSON of the wrong shape
  kLabels,                // "labels": an invalid, duplicated, unsorted or missing label
  kTimestamp,             // "timestamp": a timestamp that is missing, invalid or out of range
  kQueueFull,             // "queue_full": bounded ingest queues are full; retry later
  kNotConfigured,         // "not_configured": the feature needs configuration that is absent
  kNotFinite,             // "non_finite_value": a NaN or +-inf sample value
  kDuplicateTimestamp,    // "duplicate_timestamp": same timestamp as the previous sample
  kOutOfOrder,            // "out_of_order_timestamp": timestamp before the previous sample
};

/// Stable snake_case name of `r` (see the enum), e.g. "too_large".
const char* ReasonName(Reason r);

/// Outcome of an operation: OK, or an error code, a typed Reason and a human-readable message
/// that says where (file, line, byte, field) and why. Copyable and movable; cheap when OK (ok() is
/// one compare). [[nodiscard]]: ignoring a returned Status does not compile; handle it, or cast
/// to void with a comment saying why that is safe.
class [[nodiscard]] Status {
 public:
  enum class Code : uint8_t {
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
    return {Code::kInvalidArgument, Reason::kNone, std::move(msg)};
  }
  static Status InvalidArgument(Reason r, std::string msg) {
    return {Code::kInvalidArgument, r, std::move(msg)};
  }
  static Status NotFound(std::string msg) {
    return {Code::kNotFound, Reason::kNone, std::move(msg)};
  }
  /// Stored bytes (serialised state) that cannot be decoded.
  static Status Corruption(std::string msg) {
    return {Code::kCorruption, Reason::kNone, std::move(msg)};
  }
  static Status IoError(std::string msg) { return {Code::kIoError, Reason::kNone, std::move(msg)}; }
  /// A value outside its allowed range (e.g. an out-of-order timestamp).
  static Status OutOfRange(std::string msg) {
    return {Code::kOutOfRange, Reason::kNone, std::move(msg)};
  }
  static Status OutOfRange(Reason r, std::string msg) {
    return {Code::kOutOfRange, r, std::move(msg)};
  }
  /// A configured limit (series cap, queue depth, size cap) was reached.
  static Status ResourceExhausted(std::string msg) {
    return {Code::kResourceExhausted, Reason::kNone, std::move(msg)};
  }
  static Status ResourceExhausted(Reason r, std::string msg) {
    return {Code::kResourceExhausted, r, std::move(msg)};
  }
  static Status Unavailable(std::string msg) {
    return {Code::kUnavailable, Reason::kNone, std::move(msg)};
  }
  static Status Unavailable(Reason r, std::string msg) {
    return {Code::kUnavailable, r, std::move(msg)};
  }
  static Status Internal(std::string msg) {
    return {Code::kInternal, Reason::kNone, std::move(msg)};
  }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  /// The typed reason (kNone for OK and for errors created without one).
  Reason reason() const { return reason_; }
  const std::string& message() const { return msg_; }
  /// "OK" or "<CodeName>: <message>".
  std::string ToString() const;
  /// Returns a copy whose message is prefixed with `context + ": "` (OK stays OK; code and reason
  /// are kept).
  Status WithContext(std::string_view context) const;

 private:
  Status(Code c, Reason r, std::string m) : code_(c), reason_(r), msg_(std::move(m)) {}
  Code code_ = Code::kOk;
  Reason reason_ = Reason::kNone;
  std::string msg_;
};

}  // namespace backsight

#define BACKSIGHT_RETURN_IF_ERROR(expr) \
  do {                                  \
    ::backsight::Status _st = (expr);   \
    if (!_st.ok()) return _st;          \
  } while (0)

#endif  // BACKSIGHT_CORE_STATUS_H_
