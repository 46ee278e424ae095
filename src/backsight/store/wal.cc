#include "backsight/store/wal.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>

#include "backsight/core/file_util.h"

namespace backsight::store {
namespace {

uint32_t Crc32(std::string_view data) {
  // zlib's crc32 takes a uInt length; records are below 4 GiB (the length field is 32 bits).
  return static_cast<uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
}

void EncodeHeader(std::string_view payload, char* h) {
  const uint32_t len = static_cast<uint32_t>(payload.size());
  const uint32_t crc = Crc32(payload);
  h[0] = static_cast<char>(kWalFullRecord);
  for (int i = 0; i < 4; ++i) h[1 + i] = static_cast<char>((len >> (8 * i)) & 0xff);
  for (int i = 0; i < 4; ++i) h[5 + i] = static_cast<char>((crc >> (8 * i)) & 0xff);
}

uint32_t LoadU32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

Status Errno(const std::string& what, const std::string& path) {
  return Status::IoError("wal " + path + ": " + what + ": " + std::strerror(errno));
}

// Segment numbers in `dir`, ascending (files named by 8+ decimal digits only).
Status ListSegments(const std::string& dir, std::vector<std::pair<uint64_t, uint64_t>>* out) {
  std::error_code ec;
  out->clear();
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() < 8 || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    std::error_code ec2;
    const uint64_t size = e.file_size(ec2);
    out->push_back({std::stoull(name), ec2 ? 0 : size});
  }
  if (ec) return Status::IoError("wal " + dir + ": cannot list: " + ec.message());
  std::sort(out->begin(), out->end());
  return Status::OK();
}

}  // namespace

void AppendWalRecord(std::string_view payload, std::string* out) {
  char h[kWalHeaderBytes];
  EncodeHeader(payload, h);
  out->append(h, kWalHeaderBytes);
  out->append(payload);
}

void FrameWalRecord(std::string* buf) {
  EncodeHeader(std::string_view(*buf).substr(kWalHeaderBytes), buf->data());
}

bool WalSegmentReader::Next(std::string_view* payload) {
  if (!status_.ok() || pos_ >= data_.size()) return false;
  const size_t left = data_.size() - pos_;
  const char* p = data_.data() + pos_;
  auto bad = [&](bool torn, std::string why) {
    torn_ = torn;
    status_ = Status::Corruption((torn ? "torn record at offset " : "corrupt record at offset ") +
                                 std::to_string(pos_) + ": " + why);
    return false;
  };
  const uint8_t type = static_cast<uint8_t>(p[0]);
  if (type != kWalFullRecord) {
    // Zeros up to the end are what a crash after the file grew (but before the data landed) leaves.
    const bool zero_tail = std::all_of(p, p + left, [](char c) { return c == 0; });
    return bad(zero_tail, zero_tail ? std::to_string(left) + " zero bytes up to the end"
                                    : "unknown record type " + std::to_string(type) +
                                          " (a record format this build does not read)");
  }
  if (left < kWalHeaderBytes) {
    return bad(true, "header cut short (" + std::to_string(left) + " of " +
                         std::to_string(kWalHeaderBytes) + " bytes)");
  }
  const uint32_t len = LoadU32(p + 1);
  const uint32_t crc = LoadU32(p + 5);
  if (len > left - kWalHeaderBytes) {
    bad_payload_ = std::string_view(p + kWalHeaderBytes, left - kWalHeaderBytes);
    return bad(true, "record of " + std::to_string(len) + " bytes cut short at " +
                         std::to_string(left - kWalHeaderBytes) + " bytes");
  }
  std::string_view rec(p + kWalHeaderBytes, len);
  if (Crc32(rec) != crc) {
    bad_payload_ = rec;
    return bad(false, "CRC32 mismatch in a record of " + std::to_string(len) + " bytes");
  }
  pos_ += kWalHeaderBytes + len;
  *payload = rec;
  return true;
}

Wal::~Wal() {
  if (fd_ >= 0) close(fd_);
}

std::string Wal::SegmentPath(uint64_t n) const {
  char buf[32];
  std::snprintf(buf, sizeof buf, "/%08llu", static_cast<unsigned long long>(n));
  return dir_ + buf;
}

Status Wal::Open(const std::string& dir, const WalOptions& options, std::unique_ptr<Wal>* out) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IoError("wal " + dir + ": cannot create: " + ec.message());
  std::unique_ptr<Wal> w(new Wal(dir, options));
  BACKSIGHT_RETURN_IF_ERROR(ListSegments(dir, &w->closed_));
  const uint64_t next = w->closed_.empty() ? 0 : w->closed_.back().first + 1;
  std::lock_guard<std::mutex> lock(w->mu_);
  BACKSIGHT_RETURN_IF_ERROR(w->OpenSegment(next));
  w->first_segment_ = next;
  *out = std::move(w);
  return Status::OK();
}

Status Wal::OpenSegment(uint64_t n) {
  const std::string path = SegmentPath(n);
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("cannot create segment", path);
  if (opt_.fsync) {
    // Make the new file's directory entry durable too.
    const int dfd = open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      fsync(dfd);
      close(dfd);
    }
  }
  if (fd_ >= 0) {
    if (opt_.fsync) fdatasync(fd_);
    close(fd_);
    closed_.push_back({current_, current_bytes_});
  }
  fd_ = fd;
  current_ = n;
  current_bytes_ = 0;
  return Status::OK();
}

Status Wal::Append(std::string_view payload) {
  if (payload.size() > std::numeric_limits<uint32_t>::max()) {
    return Status::InvalidArgument("wal record of " + std::to_string(payload.size()) +
                                   " bytes exceeds 4 GiB");
  }
  char h[kWalHeaderBytes];
  EncodeHeader(payload, h);
  iovec iov[2] = {{h, kWalHeaderBytes}, {const_cast<char*>(payload.data()), payload.size()}};
  std::lock_guard<std::mutex> lock(mu_);
  return WriteLocked(iov, 2, kWalHeaderBytes + payload.size());
}

Status Wal::AppendFramed(std::string_view framed, uint64_t* segment) {
  if (framed.size() < kWalHeaderBytes ||
      framed.size() - kWalHeaderBytes > std::numeric_limits<uint32_t>::max()) {
    return Status::InvalidArgument("wal: framed record of " + std::to_string(framed.size()) +
                                   " bytes");
  }
  iovec iov[1] = {{const_cast<char*>(framed.data()), framed.size()}};
  std::lock_guard<std::mutex> lock(mu_);
  Status st = WriteLocked(iov, 1, framed.size());
  if (segment) *segment = current_;  // WriteLocked starts a new segment before writing, if any
  return st;
}

Status Wal::WriteLocked(const iovec* iov, int n_iov, uint64_t rec_bytes) {
  if (current_bytes_ > 0 && current_bytes_ + rec_bytes > opt_.segment_bytes) {
    BACKSIGHT_RETURN_IF_ERROR(OpenSegment(current_ + 1));
  }
  size_t done = 0;
  while (done < rec_bytes) {
    // Skip what was written already (a short write is rare: signals, disk full).
    iovec cur[2];
    int n = 0;
    size_t skip = done;
    for (int i = 0; i < n_iov; ++i) {
      const iovec& v = iov[i];
      if (skip >= v.iov_len) {
        skip -= v.iov_len;
        continue;
      }
      cur[n++] = {static_cast<char*>(v.iov_base) + skip, v.iov_len - skip};
      skip = 0;
    }
    const ssize_t w = writev(fd_, cur, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      current_bytes_ += done;
      return Errno("append", SegmentPath(current_));
    }
    done += static_cast<size_t>(w);
  }
  current_bytes_ += rec_bytes;
  if (opt_.fsync && fdatasync(fd_) != 0) return Errno("fdatasync", SegmentPath(current_));
  return Status::OK();
}

Status Wal::Rotate(uint64_t* segment) {
  std::lock_guard<std::mutex> lock(mu_);
  return RotateLocked(segment);
}

Status Wal::RotateLocked(uint64_t* segment) {
  BACKSIGHT_RETURN_IF_ERROR(OpenSegment(current_ + 1));
  if (segment) *segment = current_;
  return Status::OK();
}

Status Wal::RemoveBefore(uint64_t segment) {
  std::lock_guard<std::mutex> lock(mu_);
  while (!closed_.empty() && closed_.front().first < segment) {
    const std::string path = SegmentPath(closed_.front().first);
    if (unlink(path.c_str()) != 0 && errno != ENOENT) return Errno("cannot delete", path);
    closed_.erase(closed_.begin());
  }
  return Status::OK();
}

Status Wal::Replay(uint64_t end, const std::function<Status(std::string_view)>& fn,
                   const std::function<void(const WalCorruption&)>& on_corrupt,
                   WalReplayStats* stats) {
  std::vector<uint64_t> segments;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [n, bytes] : closed_) {
      if (n < end) segments.push_back(n);
    }
  }
  WalReplayStats st;
  std::string data;
  for (uint64_t n : segments) {
    data.clear();
    BACKSIGHT_RETURN_IF_ERROR(ReadFileToString(SegmentPath(n), &data));
    ++st.segments;
    st.bytes += data.size();
    WalSegmentReader reader(data);
    std::string_view rec;
    while (reader.Next(&rec)) {
      ++st.records;
      BACKSIGHT_RETURN_IF_ERROR(fn(rec));
    }
    if (!reader.status().ok()) {
      ++st.corrupt;
      if (on_corrupt) {
        WalCorruption c;
        c.segment = n;
        c.offset = reader.offset();
        c.bytes_lost = data.size() - reader.offset();
        c.torn = reader.torn();
        c.reason = reader.status().message();
        c.payload = reader.bad_payload();
        on_corrupt(c);
      }
    }
  }
  if (stats) *stats = st;
  return Status::OK();
}

size_t Wal::segment_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return closed_.size() + 1;
}

uint64_t Wal::current_segment() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

uint64_t Wal::size_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t total = current_bytes_;
  for (const auto& [n, bytes] : closed_) total += bytes;
  return total;
}

}  // namespace backsight::store
