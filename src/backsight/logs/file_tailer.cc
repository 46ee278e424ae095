#include "backsight/logs/file_tailer.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "backsight/core/line_reader.h"

namespace backsight::logs {

namespace {

// Fingerprint length: Filebeat's `file_identity.fingerprint` default (1024 bytes).
constexpr uint32_t kFingerprintBytes = 1024;
// Bytes per read(2) call.
constexpr size_t kChunkBytes = 64 * 1024;

uint32_t Crc(std::string_view s) {
  return static_cast<uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(s.data()), static_cast<uInt>(s.size())));
}

// Reads up to `n` bytes at `off`; the bytes read (fewer at end of file or on error).
std::string PreadAll(int fd, uint64_t off, size_t n) {
  std::string out(n, '\0');
  size_t got = 0;
  while (got < n) {
    const ssize_t r = pread(fd, out.data() + got, n - got, static_cast<off_t>(off + got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  out.resize(got);
  return out;
}

// True when the open file `fd` (size `size`) starts with the bytes `p` fingerprints and is at
// least `p.offset` long; `*head` gets those first bytes.
bool Matches(int fd, uint64_t size, const TailPosition& p, std::string* head) {
  if (size < p.offset) return false;
  *head = PreadAll(fd, 0, p.fingerprint_len);
  return head->size() == p.fingerprint_len && Crc(*head) == p.fingerprint;
}

}  // namespace

void EncodeTailPosition(const TailPosition& p, ByteWriter* w) {
  w->PutU64(p.dev);
  w->PutU64(p.inode);
  w->PutU64(p.offset);
  w->PutU32(p.fingerprint_len);
  w->PutU32(p.fingerprint);
}

Status DecodeTailPosition(ByteReader* r, TailPosition* p) {
  TailPosition t;
  BACKSIGHT_RETURN_IF_ERROR(r->GetU64(&t.dev, "tail device"));
  BACKSIGHT_RETURN_IF_ERROR(r->GetU64(&t.inode, "tail inode"));
  BACKSIGHT_RETURN_IF_ERROR(r->GetU64(&t.offset, "tail offset"));
  BACKSIGHT_RETURN_IF_ERROR(r->GetU32(&t.fingerprint_len, "tail fingerprint length"));
  BACKSIGHT_RETURN_IF_ERROR(r->GetU32(&t.fingerprint, "tail fingerprint"));
  if (t.fingerprint_len > kFingerprintBytes || t.fingerprint_len > t.offset) {
    return Status::Corruption("tail position: fingerprint of " + std::to_string(t.fingerprint_len) +
                              " bytes at offset " + std::to_string(t.offset) +
                              " (at most min(offset, 1024))");
  }
  *p = t;
  return Status::OK();
}

void EncodeTailPositions(std::span<const NamedTailPosition> positions, ByteWriter* w) {
  w->PutU64(positions.size());
  for (const NamedTailPosition& p : positions) {
    w->PutString(p.path);
    EncodeTailPosition(p.position, w);
  }
}

Status DecodeTailPositions(ByteReader* r, std::vector<NamedTailPosition>* out) {
  // Each entry takes at least 33 bytes (a 1-byte path length + 32): bounds a corrupt count.
  constexpr uint64_t kMinEntryBytes = 33;
  uint64_t n = 0;
  BACKSIGHT_RETURN_IF_ERROR(r->GetU64(&n, "tailed file count"));
  if (n > r->remaining() / kMinEntryBytes) {
    return Status::Corruption("tail positions: " + std::to_string(n) + " files in " +
                              std::to_string(r->remaining()) + " bytes");
  }
  std::vector<NamedTailPosition> v(n);
  for (NamedTailPosition& p : v) {
    BACKSIGHT_RETURN_IF_ERROR(r->GetString(&p.path, "tailed file path"));
    BACKSIGHT_RETURN_IF_ERROR(DecodeTailPosition(r, &p.position));
  }
  *out = std::move(v);
  return Status::OK();
}

FileTailer::FileTailer(std::string path, const FileTailerOptions& options)
    : path_(std::move(path)), options_(options) {
  options_.max_read_bytes = std::max<size_t>(options_.max_read_bytes, 1);
}

FileTailer::~FileTailer() { Close(); }

void FileTailer::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

void FileTailer::Restore(const TailPosition& p) {
  restore_ = p;
  have_restore_ = p.offset > 0;
}

TailPosition FileTailer::position() const {
  TailPosition p;
  p.dev = dev_;
  p.inode = inode_;
  p.offset = skipping_ ? read_off_ : read_off_ - pending_.size();
  p.fingerprint_len =
      static_cast<uint32_t>(std::min<uint64_t>({p.offset, head_.size(), kFingerprintBytes}));
  p.fingerprint = Crc(std::string_view(head_).substr(0, p.fingerprint_len));
  return p;
}

bool FileTailer::ResumeRotated() {
  const size_t slash = path_.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path_.substr(0, slash + 1);
  DIR* d = opendir(dir.c_str());
  if (!d) return false;
  bool found = false;
  while (dirent* e = readdir(d)) {
    const std::string p = dir + (dir.back() == '/' ? "" : "/") + e->d_name;
    struct stat st;
    if (stat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (static_cast<uint64_t>(st.st_dev) != restore_.dev ||
        static_cast<uint64_t>(st.st_ino) != restore_.inode) {
      continue;
    }
    const int fd = open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    std::string head;
    if (Matches(fd, static_cast<uint64_t>(st.st_size), restore_, &head)) {
      fd_ = fd;
      dev_ = restore_.dev;
      inode_ = restore_.inode;
      read_off_ = restore_.offset;
      head_ = std::move(head);
      found = true;
      break;
    }
    close(fd);
  }
  closedir(d);
  return found;
}

bool FileTailer::OpenPath() {
  const bool resume = have_restore_;
  have_restore_ = false;
  const int fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
    close(fd);
    return false;
  }
  if (fd < 0) {
    if (resume && ResumeRotated()) {
      ++stats_.resumed;
      return true;
    }
    have_restore_ = resume;  // try again when the file appears
    return false;
  }
  pending_.clear();
  skipping_ = false;
  head_.clear();
  read_off_ = 0;
  if (resume) {
    std::string head;
    if (Matches(fd, static_cast<uint64_t>(st.st_size), restore_, &head)) {
      read_off_ = restore_.offset;
      head_ = std::move(head);
      ++stats_.resumed;
    } else if (ResumeRotated()) {  // finish the old file first; the path comes next
      close(fd);
      ++stats_.resumed;
      return true;
    }
  }
  fd_ = fd;
  dev_ = static_cast<uint64_t>(st.st_dev);
  inode_ = static_cast<uint64_t>(st.st_ino);
  return true;
}

void FileTailer::NoteHead(std::string_view bytes, uint64_t at) {
  if (at >= kFingerprintBytes || at != head_.size()) return;
  head_.append(bytes.substr(0, kFingerprintBytes - at));
}

void FileTailer::Emit(std::string_view bytes, bool final, const Sink& sink) {
  constexpr size_t kMax = LineReader::kMaxLineBytes;
  lines_.clear();
  std::string joined, cut;  // storage of lines that are not views into `bytes`
  auto add = [&](std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > kMax) {
      line = line.substr(0, kMax);
      ++stats_.long_lines;
    }
    lines_.push_back(line);
  };
  size_t start = 0;
  for (size_t nl; (nl = bytes.find('\n', start)) != std::string_view::npos; start = nl + 1) {
    const std::string_view seg = bytes.substr(start, nl - start);
    if (skipping_) {
      skipping_ = false;  // end of a cut long line
      continue;
    }
    if (!pending_.empty()) {
      joined = std::move(pending_);
      pending_.clear();
      joined.append(seg);
      add(joined);
    } else {
      add(seg);
    }
  }
  if (!skipping_) {
    pending_.append(bytes.substr(start));
    if (pending_.size() > kMax) {
      cut = std::move(pending_);
      pending_.clear();
      cut.resize(kMax);
      lines_.push_back(cut);
      ++stats_.long_lines;
      skipping_ = true;
    } else if (final && !pending_.empty()) {
      cut = std::move(pending_);
      pending_.clear();
      add(cut);
    }
  }
  if (final) skipping_ = false;
  if (lines_.empty()) return;
  stats_.lines += lines_.size();
  sink(lines_);
}

Status FileTailer::ReadSome(const Sink& sink, size_t budget, size_t* got) {
  *got = 0;
  buf_.resize(kChunkBytes);
  while (*got < budget) {
    const size_t want = std::min(kChunkBytes, budget - *got);
    const ssize_t r = pread(fd_, buf_.data(), want, static_cast<off_t>(read_off_));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      const std::string msg = path_ + ": read: " + std::strerror(errno);
      Close();
      // Reopen from the last line handed out.
      Restore(position());
      return Status::IoError(msg);
    }
    if (r == 0) break;
    const std::string_view bytes(buf_.data(), static_cast<size_t>(r));
    NoteHead(bytes, read_off_);
    read_off_ += static_cast<uint64_t>(r);
    *got += static_cast<size_t>(r);
    Emit(bytes, false, sink);
  }
  return Status::OK();
}

Status FileTailer::Poll(const Sink& sink, bool* more) {
  if (more) *more = false;
  if (fd_ < 0) {
    if (!OpenPath()) {
      if (!was_missing_) ++stats_.missing;
      was_missing_ = true;
      return Status::OK();
    }
    was_missing_ = false;
  }
  struct stat st;
  if (fstat(fd_, &st) == 0 && static_cast<uint64_t>(st.st_size) < read_off_) {
    ++stats_.truncations;  // copytruncate: the new content starts at 0
    read_off_ = 0;
    pending_.clear();
    skipping_ = false;
    head_.clear();
  }
  size_t got = 0;
  BACKSIGHT_RETURN_IF_ERROR(ReadSome(sink, options_.max_read_bytes, &got));
  if (got == options_.max_read_bytes) {
    if (more) *more = true;
    return Status::OK();
  }
  // At the end of the open file: has the path moved on to another file?
  struct stat now;
  const bool gone = stat(path_.c_str(), &now) != 0;
  if (gone) {
    // Renamed away and no new file yet: keep following it. Deleted (no name left): let it go,
    // so that its disk space is freed, and wait for the path to come back.
    struct stat open_st;
    if (fstat(fd_, &open_st) != 0 || open_st.st_nlink > 0) return Status::OK();
  } else if (static_cast<uint64_t>(now.st_dev) == dev_ &&
             static_cast<uint64_t>(now.st_ino) == inode_) {
    return Status::OK();  // the same file
  }
  // Rotated: what was written to the old file before the switch is read first.
  BACKSIGHT_RETURN_IF_ERROR(ReadSome(sink, options_.max_read_bytes, &got));
  if (got == options_.max_read_bytes) {
    if (more) *more = true;
    return Status::OK();
  }
  Emit({}, true, sink);  // the old file is complete: its partial last line is a line
  Close();
  ++(gone ? stats_.deleted : stats_.rotations);
  pending_.clear();
  head_.clear();
  read_off_ = 0;
  dev_ = inode_ = 0;
  if (more) *more = true;  // read the new file now
  return Status::OK();
}

}  // namespace backsight::logs
