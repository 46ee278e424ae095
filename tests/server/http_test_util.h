// Raw HTTP clients for tests and benchmarks of the HTTP server: a blocking TCP connection with
// timeouts (to send malformed, slow or endless requests) and a gzip bomb maker.
#ifndef BACKSIGHT_TESTS_SERVER_HTTP_TEST_UTIL_H_
#define BACKSIGHT_TESTS_SERVER_HTTP_TEST_UTIL_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <string>
#include <string_view>

namespace backsight::testing {

// gzip (or zlib when `gzip` is false) of `n` zero bytes, made in 1 MiB steps.
inline std::string CompressZeros(uint64_t n, bool gzip = true) {
  z_stream zs{};
  deflateInit2(&zs, 9, Z_DEFLATED, gzip ? 15 + 16 : 15, 9, Z_DEFAULT_STRATEGY);
  const std::string zeros(1 << 20, '\0');
  std::string out;
  char buf[1 << 16];
  for (uint64_t done = 0;;) {
    const uint64_t step = std::min<uint64_t>(zeros.size(), n - done);
    done += step;
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(zeros.data()));
    zs.avail_in = static_cast<uInt>(step);
    const int flush = done == n ? Z_FINISH : Z_NO_FLUSH;
    do {
      zs.next_out = reinterpret_cast<Bytef*>(buf);
      zs.avail_out = sizeof buf;
      deflate(&zs, flush);
      out.append(buf, sizeof buf - zs.avail_out);
    } while (zs.avail_out == 0);
    if (done == n) break;
  }
  deflateEnd(&zs);
  return out;
}

// A raw TCP connection to 127.0.0.1:port with receive/send timeouts.
class RawConn {
 public:
  explicit RawConn(int port, int timeout_ms = 10'000) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    ok_ = connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~RawConn() { close(fd_); }
  bool ok() const { return ok_; }
  // Sends all of `s`; false on error.
  bool Send(std::string_view s) {
    while (!s.empty()) {
      const ssize_t n = send(fd_, s.data(), s.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      s.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  // Reads until the peer closes, an error or timeout; returns what arrived.
  std::string ReadAll() {
    std::string out;
    char buf[4096];
    for (;;) {
      const ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }
  // Reads until `marker` has arrived (or close/timeout).
  std::string ReadUntil(const std::string& marker) {
    std::string out;
    char buf[4096];
    while (out.find(marker) == std::string::npos) {
      const ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }
  // True when the peer has closed the connection (recv returns 0 or reset).
  bool PeerClosed() {
    char c;
    const ssize_t n = recv(fd_, &c, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

 private:
  int fd_ = -1;
  bool ok_ = false;
};

}  // namespace backsight::testing

#endif  // BACKSIGHT_TESTS_SERVER_HTTP_TEST_UTIL_H_
