// Shared by the libFuzzer targets: outside input must give a value or an error Status, and no
// parser may throw. BACKSIGHT_FUZZ_TARGET(FuzzOne) defines LLVMFuzzerTestOneInput to call
// `int FuzzOne(const uint8_t*, size_t)` and to turn any exception escaping it into an abort that
// names the exception, which libFuzzer reports as a crash and saves the input for.
#ifndef BACKSIGHT_FUZZ_FUZZ_UTIL_H_
#define BACKSIGHT_FUZZ_FUZZ_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>

namespace backsight::fuzz {

/// Runs fn(data, size); an exception is a bug (decoders return Status): print it and abort.
template <typename Fn>
int NoThrow(Fn fn, const uint8_t* data, size_t size) {
  try {
    return fn(data, size);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz target threw %s (parsers must return a Status)\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "fuzz target threw a non-std exception (parsers must return a Status)\n");
  }
  std::abort();
}

}  // namespace backsight::fuzz

#define BACKSIGHT_FUZZ_TARGET(fn)                                           \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) { \
    return ::backsight::fuzz::NoThrow(fn, data, size);                      \
  }

#endif  // BACKSIGHT_FUZZ_FUZZ_UTIL_H_
