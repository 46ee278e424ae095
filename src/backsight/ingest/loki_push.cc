#include "backsight/ingest/loki_push.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <snappy.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <nlohmann/json.hpp>
#include <string>

#include "backsight/ingest/ingest_util.h"
#include "backsight/ingest/otlp_common.h"

namespace backsight::ingest {

namespace {

using google::protobuf::io::CodedInputStream;
using internal::Bracket;
using internal::Quote;
using Json = nlohmann::json;

// Protobuf wire types (protobuf encoding spec, "Message Structure").
constexpr uint32_t kWireVarint = 0;
constexpr uint32_t kWireFixed64 = 1;
constexpr uint32_t kWireLength = 2;
constexpr uint32_t kWireFixed32 = 5;

// Label names that name a stream's service, in order of preference: Loki's own `service_name`
// (discovered by Loki 3 from these same labels), then the common Promtail/Alloy/Kubernetes ones.
constexpr std::string_view kServiceLabels[] = {"service_name", "service", "app",
                                               "application",  "job",     "container"};
// Stream labels that carry the level (Loki's `detected_level` and the usual shipper ones).
constexpr std::string_view kLevelLabels[] = {"level", "severity", "detected_level", "lvl"};

Status Bad(Reason r, const std::string& msg) { return Status::InvalidArgument(r, "loki: " + msg); }

std::string ServiceOf(const Labels& labels) {
  for (std::string_view name : kServiceLabels) {
    std::string_view v = GetLabel(labels, name);
    if (!v.empty()) return std::string(v);
  }
  return std::string(kUnknownService);
}

std::string_view LevelOf(const Labels& labels) {
  for (std::string_view name : kLevelLabels) {
    std::string_view v = GetLabel(labels, name);
    if (!v.empty()) return v;
  }
  return {};
}

bool IsLevelKey(std::string_view k) {
  return std::find(std::begin(kLevelLabels), std::end(kLevelLabels), k) != std::end(kLevelLabels);
}

// A field path for error messages, built without allocating (one level per message on the
// stack, pointing at its parent); Text() runs only when an error is reported.
struct Path {
  const Path* parent = nullptr;
  const char* name = "";
  size_t index = SIZE_MAX;  // SIZE_MAX: no "[i]"
  std::string Text() const {
    std::string s = parent ? parent->Text() : std::string();
    if (*name) {
      if (!s.empty()) s += '.';
      s += name;
    }
    if (index != SIZE_MAX) s += Bracket(index);
    return s;
  }
};

Status CheckUtf8(std::string_view s, const Path& path) {
  size_t bad;
  if (!internal::IsValidUtf8(s, &bad)) {
    return Bad(Reason::kUtf8, path.Text() + ": not valid UTF-8 (byte " + std::to_string(bad) + ")");
  }
  return Status::OK();
}

// ---- protobuf -----------------------------------------------------------------------------------

// One field of a message as read from the wire.
struct Field {
  uint32_t number = 0;
  uint32_t wire = 0;
  uint64_t varint = 0;     // varint and fixed values
  std::string_view bytes;  // length-delimited payload
  size_t offset = 0;       // byte offset of the field's tag in the whole message
};

// Walks the fields of one message (`msg` starts at byte `base` of the decompressed request) and
// calls fn(field) for each; stops at the first error. Unknown fields are passed on too.
template <typename Fn>
Status ForEachField(std::string_view msg, size_t base, const Path& path, Fn fn) {
  CodedInputStream in(reinterpret_cast<const uint8_t*>(msg.data()), static_cast<int>(msg.size()));
  while (true) {
    Field f;
    f.offset = base + static_cast<size_t>(in.CurrentPosition());
    uint32_t tag = in.ReadTag();
    if (tag == 0) {
      if (static_cast<size_t>(in.CurrentPosition()) == msg.size()) return Status::OK();
      return Bad(Reason::kMalformed,
                 "byte " + std::to_string(f.offset) + " in " + path.Text() + ": invalid field tag");
    }
    f.number = tag >> 3;
    f.wire = tag & 7;
    bool ok = true;
    switch (f.wire) {
      case kWireVarint:
        ok = in.ReadVarint64(&f.varint);
        break;
      case kWireFixed64:
        ok = in.ReadLittleEndian64(&f.varint);
        break;
      case kWireFixed32: {
        uint32_t v;
        ok = in.ReadLittleEndian32(&v);
        f.varint = v;
        break;
      }
      case kWireLength: {
        uint32_t len;
        ok = in.ReadVarint32(&len);
        size_t at = static_cast<size_t>(in.CurrentPosition());
        if (ok && len <= msg.size() - at) {
          f.bytes = msg.substr(at, len);
          ok = in.Skip(static_cast<int>(len));
        } else if (ok) {
          return Bad(Reason::kMalformed, "byte " + std::to_string(f.offset) + " in " + path.Text() +
                                             ": field " + std::to_string(f.number) + " declares " +
                                             std::to_string(len) + " bytes, " +
                                             std::to_string(msg.size() - at) + " remain");
        }
        break;
      }
      default:
        return Bad(Reason::kMalformed, "byte " + std::to_string(f.offset) + " in " + path.Text() +
                                           ": field " + std::to_string(f.number) +
                                           " has unsupported wire type " + std::to_string(f.wire));
    }
    if (!ok) {
      return Bad(Reason::kMalformed, "byte " + std::to_string(f.offset) + " in " + path.Text() +
                                         ": field " + std::to_string(f.number) + " is truncated");
    }
    BACKSIGHT_RETURN_IF_ERROR(fn(f));
  }
}

Status ExpectWire(const Field& f, uint32_t wire, const Path& path) {
  if (f.wire == wire) return Status::OK();
  return Bad(Reason::kMalformed, "byte " + std::to_string(f.offset) + " in " + path.Text() +
                                     ": wire type " + std::to_string(f.wire) + ", expected " +
                                     std::to_string(wire));
}

size_t OffsetIn(std::string_view whole, std::string_view part) {
  return static_cast<size_t>(part.data() - whole.data());
}

Status TimestampNsFrom(int64_t seconds, int64_t nanos, const Path& path, TimestampNs* ts) {
  if (seconds < 0 || nanos < 0 || nanos >= kNanosPerSecond ||
      seconds > (INT64_MAX - nanos) / kNanosPerSecond) {
    return Bad(Reason::kTimestamp, path.Text() + ": " + std::to_string(seconds) + " s " +
                                       std::to_string(nanos) + " ns is outside 1970 .. int64 ns");
  }
  *ts = seconds * kNanosPerSecond + nanos;
  return Status::OK();
}

class ProtoDecoder {
 public:
  ProtoDecoder(std::string_view msg, LogBatch* out) : msg_(msg), out_(out) {}

  Status Run() {
    size_t si = 0;
    const Path root{nullptr, "PushRequest"};
    return ForEachField(msg_, 0, root, [&](const Field& f) -> Status {
      if (f.number != 1) return Status::OK();
      const Path path{nullptr, "streams", si++};
      BACKSIGHT_RETURN_IF_ERROR(ExpectWire(f, kWireLength, path));
      return Stream(f.bytes, path);
    });
  }

 private:
  Status Stream(std::string_view bytes, const Path& path) {
    LogStream& s = out_->streams.emplace_back();
    bool have_labels = false;
    size_t ei = 0;
    BACKSIGHT_RETURN_IF_ERROR(
        ForEachField(bytes, OffsetIn(msg_, bytes), path, [&](const Field& f) -> Status {
          if (f.number == 1) {
            const Path lp{&path, "labels"};
            BACKSIGHT_RETURN_IF_ERROR(ExpectWire(f, kWireLength, lp));
            BACKSIGHT_RETURN_IF_ERROR(CheckUtf8(f.bytes, lp));
            Status st = ParseLokiLabels(f.bytes, &s.labels);
            if (!st.ok()) return Bad(Reason::kLabels, lp.Text() + ": " + st.message());
            have_labels = true;
          } else if (f.number == 2) {
            const Path ep{&path, "entries", ei++};
            BACKSIGHT_RETURN_IF_ERROR(ExpectWire(f, kWireLength, ep));
            BACKSIGHT_RETURN_IF_ERROR(Entry(f.bytes, ep, &s));
          }
          return Status::OK();
        }));
    if (!have_labels) return Bad(Reason::kLabels, path.Text() + ".labels: missing");
    s.service = ServiceOf(s.labels);
    std::string_view level = LevelOf(s.labels);
    for (LogLine& l : s.entries) {
      if (l.level.empty()) l.level = level;  // views into s.labels, which no longer changes
    }
    return Status::OK();
  }

  Status Entry(std::string_view bytes, const Path& path, LogStream* s) {
    LogLine line;
    bool have_ts = false;
    BACKSIGHT_RETURN_IF_ERROR(
        ForEachField(bytes, OffsetIn(msg_, bytes), path, [&](const Field& f) -> Status {
          if (f.number == 1) {
            const Path tp{&path, "timestamp"};
            BACKSIGHT_RETURN_IF_ERROR(ExpectWire(f, kWireLength, tp));
            int64_t sec = 0, nanos = 0;
            BACKSIGHT_RETURN_IF_ERROR(
                ForEachField(f.bytes, OffsetIn(msg_, f.bytes), tp, [&](const Field& t) {
                  if (t.number == 1 && t.wire == kWireVarint) sec = static_cast<int64_t>(t.varint);
                  if (t.number == 2 && t.wire == kWireVarint)
                    nanos = static_cast<int32_t>(static_cast<uint32_t>(t.varint));
                  return Status::OK();
                }));
            BACKSIGHT_RETURN_IF_ERROR(TimestampNsFrom(sec, nanos, tp, &line.ts));
            have_ts = true;
          } else if (f.number == 2) {
            const Path lp{&path, "line"};
            BACKSIGHT_RETURN_IF_ERROR(ExpectWire(f, kWireLength, lp));
            BACKSIGHT_RETURN_IF_ERROR(CheckUtf8(f.bytes, lp));
            line.line = f.bytes;
          } else if (f.number == 3) {
            const Path mp{&path, "structuredMetadata"};
            BACKSIGHT_RETURN_IF_ERROR(ExpectWire(f, kWireLength, mp));
            std::string_view name, value;
            BACKSIGHT_RETURN_IF_ERROR(
                ForEachField(f.bytes, OffsetIn(msg_, f.bytes), mp, [&](const Field& m) {
                  if (m.number == 1 && m.wire == kWireLength) name = m.bytes;
                  if (m.number == 2 && m.wire == kWireLength) value = m.bytes;
                  return Status::OK();
                }));
            if (IsLevelKey(name)) {
              BACKSIGHT_RETURN_IF_ERROR(CheckUtf8(value, mp));
              line.level = value;
            }
          }
          return Status::OK();
        }));
    if (!have_ts) return Bad(Reason::kTimestamp, path.Text() + ".timestamp: missing");
    s->entries.push_back(line);
    return Status::OK();
  }

  std::string_view msg_;
  LogBatch* out_;
};

// ---- JSON ---------------------------------------------------------------------------------------

Status JsonErr(const std::string& path, const std::string& why, Reason r = Reason::kJson) {
  return Status::InvalidArgument(r, "loki json: " + path + ": " + why);
}

Status JsonStream(Json& j, const std::string& path, LogBatch* out) {
  if (!j.is_object()) return JsonErr(path, "expected an object");
  LogStream& s = out->streams.emplace_back();
  auto labels = j.find("stream");
  if (labels == j.end() || !labels->is_object()) {
    return JsonErr(path + ".stream", "expected an object of labels", Reason::kLabels);
  }
  for (auto& [k, v] : labels->items()) {
    if (!v.is_string()) return JsonErr(path + ".stream." + k, "expected a string");
    if (!internal::IsValidLabelName(k)) {
      return JsonErr(path + ".stream", "invalid label name " + Quote(k), Reason::kLabels);
    }
    s.labels.push_back({k, v.get<std::string>()});
  }
  SortLabels(&s.labels);  // object keys are unique after parsing
  s.service = ServiceOf(s.labels);
  const std::string_view level = LevelOf(s.labels);
  auto values = j.find("values");
  if (values == j.end()) return Status::OK();
  if (!values->is_array()) return JsonErr(path + ".values", "expected an array");
  s.entries.reserve(values->size());
  for (size_t i = 0; i < values->size(); ++i) {
    Json& e = (*values)[i];
    std::string ep = path + ".values" + Bracket(i);
    if (!e.is_array() || e.size() < 2 || e.size() > 3) {
      return JsonErr(ep, "expected [\"<unix ns>\", \"<line>\"] or with a metadata object");
    }
    LogLine line;
    line.level = level;
    if (!e[0].is_string()) return JsonErr(ep + "[0]", "expected a string of unix nanoseconds");
    const auto& t = e[0].get_ref<const std::string&>();
    int64_t ns = 0;
    auto r = std::from_chars(t.data(), t.data() + t.size(), ns);
    if (r.ec != std::errc() || r.ptr != t.data() + t.size() || ns < 0) {
      return JsonErr(ep + "[0]", "not unix nanoseconds: " + Quote(t), Reason::kTimestamp);
    }
    line.ts = ns;
    if (!e[1].is_string()) return JsonErr(ep + "[1]", "expected the line as a string");
    line.line = out->Own(std::move(e[1].get_ref<std::string&>()));
    if (e.size() == 3) {
      if (!e[2].is_object()) return JsonErr(ep + "[2]", "expected an object of metadata");
      for (auto& [k, v] : e[2].items()) {
        if (IsLevelKey(k) && v.is_string()) {
          line.level = out->Own(std::move(v.get_ref<std::string&>()));
        }
      }
    }
    s.entries.push_back(line);
  }
  return Status::OK();
}

// Go string escape (Loki label values are Go-quoted).
void AppendGoQuoted(std::string_view s, std::string* out) {
  out->push_back('"');
  for (char c : s) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        out->push_back(c);
    }
  }
  out->push_back('"');
}

}  // namespace

Status ParseLokiLabels(std::string_view text, Labels* out) {
  out->clear();
  size_t i = 0;
  auto err = [&](const std::string& why) {
    return Status::InvalidArgument(Reason::kLabels, "label string " + Quote(text) + ": byte " +
                                                        std::to_string(i) + ": " + why);
  };
  auto skip_ws = [&] {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n')) ++i;
  };
  skip_ws();
  if (i >= text.size() || text[i] != '{') return err("expected '{'");
  ++i;
  skip_ws();
  if (i < text.size() && text[i] == '}') {
    ++i;
  } else {
    while (true) {
      skip_ws();
      size_t start = i;
      while (i < text.size() &&
             (std::isalnum(static_cast<unsigned char>(text[i])) || text[i] == '_')) {
        ++i;
      }
      std::string_view name = text.substr(start, i - start);
      if (!internal::IsValidLabelName(name)) {
        i = start;
        return err("expected a label name");
      }
      skip_ws();
      if (i >= text.size() || text[i] != '=') return err("expected '=' (only equality matchers)");
      ++i;
      if (i < text.size() && (text[i] == '~' || text[i] == '=')) return err("expected '='");
      skip_ws();
      if (i >= text.size() || text[i] != '"') return err("expected a quoted value");
      ++i;
      std::string value;
      bool closed = false;
      while (i < text.size()) {
        char c = text[i++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c != '\\') {
          value.push_back(c);
          continue;
        }
        if (i >= text.size()) break;
        char e = text[i++];
        switch (e) {
          case 'n':
            value.push_back('\n');
            break;
          case 't':
            value.push_back('\t');
            break;
          case 'r':
            value.push_back('\r');
            break;
          case '"':
          case '\\':
          case '\'':
            value.push_back(e);
            break;
          default:
            --i;
            return err("unsupported escape \\" + std::string(1, e));
        }
      }
      if (!closed) return err("unterminated value");
      out->push_back({std::string(name), std::move(value)});
      skip_ws();
      if (i < text.size() && text[i] == ',') {
        ++i;
        skip_ws();
        if (i < text.size() && text[i] == '}') {  // trailing comma
          ++i;
          break;
        }
        continue;
      }
      if (i < text.size() && text[i] == '}') {
        ++i;
        break;
      }
      return err("expected ',' or '}'");
    }
  }
  skip_ws();
  if (i != text.size()) return err("trailing bytes after '}'");
  SortLabels(out);
  for (size_t k = 1; k < out->size(); ++k) {
    if ((*out)[k].name == (*out)[k - 1].name) {
      i = 0;
      return err("duplicate label name " + Quote((*out)[k].name));
    }
  }
  return Status::OK();
}

Status DecodeLokiPushProto(std::string_view body, LogBatch* out, size_t max_decompressed_bytes) {
  out->Clear();
  size_t ulen = 0;
  if (!snappy::GetUncompressedLength(body.data(), body.size(), &ulen)) {
    return Bad(Reason::kSnappy,
               "body is not snappy block-compressed: bad length preamble at "
               "byte 0 (" +
                   std::to_string(body.size()) + " bytes received)");
  }
  if (ulen > max_decompressed_bytes || ulen > static_cast<size_t>(INT_MAX)) {
    return Bad(Reason::kTooLarge, "decompressed size " + std::to_string(ulen) +
                                      " bytes exceeds the limit of " +
                                      std::to_string(max_decompressed_bytes) + " bytes");
  }
  out->buffer.resize(ulen);
  if (!snappy::RawUncompress(body.data(), body.size(), out->buffer.data())) {
    out->Clear();
    return Bad(Reason::kSnappy, "corrupt snappy data (" + std::to_string(body.size()) +
                                    " bytes, declared decompressed size " + std::to_string(ulen) +
                                    ")");
  }
  ProtoDecoder dec(std::string_view(out->buffer.data(), ulen), out);
  Status st = dec.Run();
  if (!st.ok()) out->Clear();
  return st;
}

Status DecodeLokiPushJson(std::string_view body, LogBatch* out, size_t max_bytes) {
  out->Clear();
  if (body.size() > max_bytes) return internal::TooLarge("loki json", body.size(), max_bytes);
  Json j;
  BACKSIGHT_RETURN_IF_ERROR(internal::ParseJsonBody(body, "loki json", &j));
  if (!j.is_object()) return JsonErr("(root)", "expected a JSON object");
  Status st;
  auto streams = j.find("streams");
  if (streams != j.end()) {
    if (!streams->is_array()) {
      st = JsonErr("streams", "expected an array");
    } else {
      for (size_t i = 0; i < streams->size() && st.ok(); ++i) {
        st = JsonStream((*streams)[i], "streams" + Bracket(i), out);
      }
    }
  }
  if (st.ok()) {
    for (const LogStream& s : out->streams) {
      for (const LogLine& l : s.entries) {
        size_t bad;
        if (!internal::IsValidUtf8(l.line, &bad)) {
          st = JsonErr("line", "not valid UTF-8", Reason::kUtf8);  // nlohmann checks on parse
          break;
        }
      }
    }
  }
  if (!st.ok()) out->Clear();
  return st;
}

void EncodeLokiPushProto(const LogBatch& batch, std::string* body) {
  using google::protobuf::io::CodedOutputStream;
  using google::protobuf::io::StringOutputStream;
  auto put_bytes = [](CodedOutputStream* o, uint32_t field, std::string_view b) {
    o->WriteTag(field << 3 | kWireLength);
    o->WriteVarint32(static_cast<uint32_t>(b.size()));
    o->WriteRaw(b.data(), static_cast<int>(b.size()));
  };
  std::string req, stream, entry, ts, labels;
  for (const LogStream& s : batch.streams) {
    stream.clear();
    labels.assign(1, '{');
    for (size_t i = 0; i < s.labels.size(); ++i) {
      if (i) labels += ", ";
      labels += s.labels[i].name;
      labels += '=';
      AppendGoQuoted(s.labels[i].value, &labels);
    }
    labels += '}';
    {
      StringOutputStream so(&stream);
      CodedOutputStream o(&so);
      put_bytes(&o, 1, labels);
      for (const LogLine& l : s.entries) {
        ts.clear();
        {
          StringOutputStream tso(&ts);
          CodedOutputStream t(&tso);
          t.WriteTag(1 << 3 | kWireVarint);
          t.WriteVarint64(static_cast<uint64_t>(l.ts / kNanosPerSecond));
          t.WriteTag(2 << 3 | kWireVarint);
          t.WriteVarint64(static_cast<uint64_t>(l.ts % kNanosPerSecond));
        }
        entry.clear();
        {
          StringOutputStream eso(&entry);
          CodedOutputStream e(&eso);
          put_bytes(&e, 1, ts);
          put_bytes(&e, 2, l.line);
        }
        put_bytes(&o, 2, entry);
      }
    }
    StringOutputStream ro(&req);
    CodedOutputStream r(&ro);
    put_bytes(&r, 1, stream);
  }
  body->clear();
  snappy::Compress(req.data(), req.size(), body);
}

}  // namespace backsight::ingest
