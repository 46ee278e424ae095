// api_loggen: writes a synthetic access log for an OpenAPI document, plus the truth (its path
// templates), to benchmark `backsight api infer` (issue 13).
//
//   api_loggen --spec a.yaml [--spec b.yaml ...] --out access.log --truth truth.tsv
//              [--requests 100000] [--seed 1] [--format combined|json|otlp]
//
// Every operation of every spec gets traffic (uniform over operations). Path parameters get
// values by their schema and name: integer -> integers; format uuid -> UUIDs; format date/
// date-time or a name with "date" -> dates; a name with "email" -> e-mails; other string ids
// (name ending in "id") -> one of UUID, 24-hex ObjectId, 22-char base64url token or integer,
// chosen by the name; an enum -> its values; other strings -> lower-case slugs ("brave-otter").
// Values are drawn from a per-parameter pool with a skew (u^2), so a few are hot. Where a
// template ends in a parameter and the spec has no constant beside it, one constant sibling is
// added (`/users/me` next to `/users/{userId}`, GET). With several specs each is mounted under
// "/<file stem>". The truth file has lines "template\t<path>" for every template that got
// traffic (with a third field "enum" when a path parameter is a small enum, whose values traffic
// cannot tell from constant routes) and "constant\t<path prefix>" for every constant that stands
// beside a parameter (from the spec or added); a constant is collapsed when no inferred path starts
// with it. --format otlp writes OTLP/JSON trace lines (Collector file exporter) instead: one server
// span per request, alternating the stable and the pre-1.21 HTTP attribute names, the same
// requests as the combined format for a seed, and client spans to a peer that are not served.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace {

enum class ValueKind { kInteger, kUuid, kDate, kEmail, kHex24, kToken22, kSlug, kEnum };

struct Segment {
  bool is_param = false;
  std::string text;  // literal, or the parameter name
  ValueKind kind = ValueKind::kSlug;
  std::vector<std::string> enum_values;
};

struct Operation {
  std::string method;  // upper case
  std::string path;    // template, with the mount prefix
  std::vector<Segment> segments;
  std::vector<std::pair<std::string, bool>> query;  // name, required
  std::vector<int> statuses;                        // first = the usual success code
};

// Constant siblings added where the spec has none; picked by the parent path's hash.
const char* const kConstantWords[] = {"me",    "new",    "export",  "search",
                                      "count", "latest", "summary", "bulk"};
// Words for slug values ("brave-otter"): 24 x 24 = 576 distinct slugs per pool.
const char* const kAdjectives[] = {"brave", "calm",  "dark",  "eager", "fair",  "gentle",
                                   "happy", "icy",   "jolly", "keen",  "lucky", "mellow",
                                   "noble", "odd",   "proud", "quiet", "rapid", "shy",
                                   "tidy",  "urban", "vivid", "warm",  "young", "zesty"};
const char* const kNouns[] = {"otter", "lynx",  "heron", "bison", "crane", "eagle",
                              "finch", "gecko", "hound", "ibis",  "koala", "lemur",
                              "moose", "newt",  "orca",  "panda", "quail", "raven",
                              "seal",  "tiger", "viper", "whale", "yak",   "zebra"};
// Pool size per identifier parameter: enough that most values are seen a few times at 100,000
// requests spread over a few dozen operations.
constexpr size_t kIdPoolSize = 3000;
// --format otlp: server spans per ExportTraceServiceRequest line (the Collector's batch processor
// sends batches of up to 8192 spans; 100 keeps lines short), and one client span (a call to a
// peer, which `api infer` must ignore) every this many requests.
constexpr size_t kOtlpSpansPerLine = 100;
constexpr size_t kOtlpClientEvery = 10;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Follows a local "#/components/..." $ref once (enough for the specs of data/).
YAML::Node Resolve(const YAML::Node& root, YAML::Node n) {
  for (int hops = 0; hops < 8 && n.IsMap() && n["$ref"]; ++hops) {
    std::string ref = n["$ref"].as<std::string>();
    if (ref.rfind("#/", 0) != 0) break;
    YAML::Node cur = YAML::Clone(root);
    size_t pos = 2;
    while (pos <= ref.size()) {
      size_t e = ref.find('/', pos);
      if (e == std::string::npos) e = ref.size();
      cur = cur[ref.substr(pos, e - pos)];
      if (!cur) return YAML::Node();
      pos = e + 1;
    }
    n = cur;
  }
  return n;
}

ValueKind KindFor(const std::string& name, const YAML::Node& schema,
                  std::vector<std::string>* enums) {
  const std::string type = schema && schema["type"] ? schema["type"].as<std::string>("") : "";
  const std::string format = schema && schema["format"] ? schema["format"].as<std::string>("") : "";
  const std::string n = Lower(name);
  if (schema && schema["enum"] && schema["enum"].IsSequence()) {
    for (const auto& v : schema["enum"]) {
      if (v.IsScalar()) enums->push_back(v.Scalar());
    }
    if (!enums->empty()) return ValueKind::kEnum;
  }
  if (format == "uuid") return ValueKind::kUuid;
  if (format == "date" || format == "date-time" || n.find("date") != std::string::npos) {
    return ValueKind::kDate;
  }
  if (format == "email" || n.find("email") != std::string::npos) return ValueKind::kEmail;
  if (type == "integer" || type == "number") return ValueKind::kInteger;
  if (n.size() >= 2 && n.ends_with("id")) {
    static constexpr ValueKind kIdKinds[] = {ValueKind::kUuid, ValueKind::kHex24,
                                             ValueKind::kToken22, ValueKind::kInteger};
    return kIdKinds[std::hash<std::string>()(name) % 4];
  }
  return ValueKind::kSlug;
}

// Reads the operations of one spec; false with a message on error.
bool LoadSpec(const std::string& file, const std::string& prefix, std::vector<Operation>* ops,
              std::string* err) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(file);
  } catch (const YAML::Exception& e) {
    *err = file + ": " + e.what();
    return false;
  }
  if (!root["paths"] || !root["paths"].IsMap()) {
    *err = file + ": no paths";
    return false;
  }
  static const char* const kMethods[] = {"get", "put", "post", "delete", "patch"};
  for (const auto& kv : root["paths"]) {
    const std::string path = kv.first.Scalar();
    const YAML::Node item = kv.second;
    if (!item.IsMap()) continue;
    for (const char* m : kMethods) {
      const YAML::Node op = item[m];
      if (!op) continue;
      Operation o;
      o.method = m;
      for (char& c : o.method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      o.path = prefix + path;
      std::map<std::string, YAML::Node> path_params;
      for (const YAML::Node& list : {item["parameters"], op["parameters"]}) {
        if (!list || !list.IsSequence()) continue;
        for (YAML::Node p : list) {
          p = Resolve(root, p);
          if (!p || !p["name"] || !p["in"]) continue;
          const std::string in = p["in"].as<std::string>(), name = p["name"].as<std::string>();
          if (in == "path") path_params[name] = Resolve(root, p["schema"]);
          if (in == "query") o.query.emplace_back(name, p["required"].as<bool>(false));
        }
      }
      // Segments of the mounted path.
      const std::string full = o.path;
      size_t pos = 1;
      while (pos <= full.size()) {
        size_t e = full.find('/', pos);
        if (e == std::string::npos) e = full.size();
        std::string seg = full.substr(pos, e - pos);
        pos = e + 1;
        if (seg.empty()) continue;
        Segment s;
        if (seg.size() > 2 && seg.front() == '{' && seg.back() == '}') {
          s.is_param = true;
          s.text = seg.substr(1, seg.size() - 2);
          s.kind = KindFor(s.text, path_params[s.text], &s.enum_values);
        } else {
          s.text = seg;
        }
        o.segments.push_back(std::move(s));
      }
      if (op["responses"] && op["responses"].IsMap()) {
        for (const auto& r : op["responses"]) {
          const std::string code = r.first.as<std::string>();
          if (code.size() == 3 && std::isdigit(static_cast<unsigned char>(code[0]))) {
            o.statuses.push_back(std::stoi(code));
          }
        }
      }
      std::sort(o.statuses.begin(), o.statuses.end());
      if (o.statuses.empty()) o.statuses.push_back(200);
      ops->push_back(std::move(o));
    }
  }
  return true;
}

std::string TemplatePrefix(const std::vector<Segment>& segs, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i)
    s += "/" + (segs[i].is_param ? "{" + segs[i].text + "}" : segs[i].text);
  return s;
}

class ValueMaker {
 public:
  explicit ValueMaker(uint64_t seed) : rng_(seed) {}
  std::mt19937_64& rng() { return rng_; }

  // A value for parameter `key` of `kind`, drawn with skew from its pool.
  std::string Value(const std::string& key, const Segment& s) {
    if (s.kind == ValueKind::kEnum) return s.enum_values[rng_() % s.enum_values.size()];
    std::vector<std::string>& pool = pools_[key];
    if (pool.empty()) {
      std::set<std::string> seen;
      const size_t size = s.kind == ValueKind::kSlug ? 576 : kIdPoolSize;
      while (seen.size() < size) seen.insert(Fresh(s.kind));
      pool.assign(seen.begin(), seen.end());
      std::shuffle(pool.begin(), pool.end(), rng_);
    }
    const double u = std::uniform_real_distribution<double>(0, 1)(rng_);
    return pool[static_cast<size_t>(u * u * static_cast<double>(pool.size()))];
  }

 private:
  std::string Hex(size_t n) {
    static const char* kHex = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < n; ++i) s += kHex[rng_() % 16];
    return s;
  }
  std::string Fresh(ValueKind k) {
    char buf[64];
    switch (k) {
      case ValueKind::kInteger:
        return std::to_string(1 + rng_() % 9'999'999);
      case ValueKind::kUuid:
        return Hex(8) + "-" + Hex(4) + "-4" + Hex(3) + "-a" + Hex(3) + "-" + Hex(12);
      case ValueKind::kDate:
        std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", 2020 + static_cast<int>(rng_() % 7),
                      1 + static_cast<int>(rng_() % 12), 1 + static_cast<int>(rng_() % 28));
        return buf;
      case ValueKind::kEmail:
        return std::string(kNouns[rng_() % 24]) + std::to_string(rng_() % 1000) + "@example.com";
      case ValueKind::kHex24:
        return Hex(24);
      case ValueKind::kToken22: {
        static const char* kB64 =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        std::string s;
        for (int i = 0; i < 22; ++i) s += kB64[rng_() % 64];
        return s;
      }
      case ValueKind::kSlug:
      case ValueKind::kEnum:
        break;
    }
    return std::string(kAdjectives[rng_() % 24]) + "-" + kNouns[rng_() % 24];
  }
  std::mt19937_64 rng_;
  std::map<std::string, std::vector<std::string>> pools_;
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> specs;
  std::string out_path, truth_path, format = "combined";
  size_t requests = 100000;
  uint64_t seed = 1;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--spec")
      specs.push_back(next());
    else if (a == "--out")
      out_path = next();
    else if (a == "--truth")
      truth_path = next();
    else if (a == "--requests")
      requests = std::stoul(next());
    else if (a == "--seed")
      seed = std::stoull(next());
    else if (a == "--format")
      format = next();
    else {
      std::fprintf(stderr,
                   "usage: api_loggen --spec FILE... --out LOG --truth TSV "
                   "[--requests N] [--seed S] [--format combined|json|otlp]\n");
      return 2;
    }
  }
  if (specs.empty() || out_path.empty() || truth_path.empty()) {
    std::fprintf(stderr, "api_loggen: --spec, --out and --truth are required\n");
    return 2;
  }
  std::vector<Operation> ops;
  for (const std::string& spec : specs) {
    const std::string prefix =
        specs.size() > 1 ? "/" + std::filesystem::path(spec).stem().string() : "";
    std::string err;
    bool ok = false;
    try {
      ok = LoadSpec(spec, prefix, &ops, &err);
    } catch (const YAML::Exception& e) {
      err = spec + ": " + e.what();
    }
    if (!ok) {
      std::fprintf(stderr, "api_loggen: %s\n", err.c_str());
      return 3;
    }
  }
  // Constants beside parameters: literal segments whose parent prefix also has a parameter child.
  std::map<std::string, std::set<std::string>> literal_children, param_children;
  for (const Operation& o : ops) {
    for (size_t i = 0; i < o.segments.size(); ++i) {
      const std::string parent = TemplatePrefix(o.segments, i);
      (o.segments[i].is_param ? param_children : literal_children)[parent].insert(
          o.segments[i].is_param ? "{}" : o.segments[i].text);
    }
  }
  std::set<std::string> constants;
  const size_t spec_ops = ops.size();
  for (size_t k = 0; k < spec_ops; ++k) {
    const Operation o = ops[k];
    if (o.segments.empty() || !o.segments.back().is_param) continue;
    const std::string parent = TemplatePrefix(o.segments, o.segments.size() - 1);
    if (!literal_children[parent].empty()) continue;
    const char* word = kConstantWords[std::hash<std::string>()(parent) % 8];
    literal_children[parent].insert(word);
    Operation c;
    c.method = "GET";
    c.path = parent + "/" + word;
    c.segments.assign(o.segments.begin(), o.segments.end() - 1);
    c.segments.push_back(Segment{false, word, ValueKind::kSlug, {}});
    c.statuses = {200};
    ops.push_back(std::move(c));
  }
  for (const auto& [parent, lits] : literal_children) {
    if (param_children.count(parent) == 0) continue;
    for (const std::string& l : lits) constants.insert(parent + "/" + l);
  }

  ValueMaker vm(seed);
  auto& rng = vm.rng();
  std::FILE* out = std::fopen(out_path.c_str(), "w");
  if (out == nullptr) {
    std::perror(out_path.c_str());
    return 4;
  }
  std::set<std::string> used, with_enum;  // templates with traffic; those with an enum parameter
  int64_t t_ms = 1767225600000;           // 2026-01-01T00:00:00Z
  static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::string otlp_spans;  // --format otlp: the spans of the line being built
  size_t otlp_in_line = 0;
  for (size_t r = 0; r < requests; ++r) {
    const Operation& o = ops[rng() % ops.size()];
    used.insert(o.path);
    for (const Segment& sg : o.segments) {
      if (sg.is_param && sg.kind == ValueKind::kEnum) with_enum.insert(o.path);
    }
    std::string path;
    for (size_t i = 0; i < o.segments.size(); ++i) {
      const Segment& s = o.segments[i];
      path += "/" + (s.is_param ? vm.Value(TemplatePrefix(o.segments, i + 1), s) : s.text);
    }
    if (path.empty()) path = "/";
    std::string q;
    for (const auto& [name, required] : o.query) {
      if (!required && rng() % 2 == 0) continue;
      q += (q.empty() ? "?" : "&") + name + "=" + std::to_string(rng() % 100);
    }
    // 90 % the usual success code, else one of the documented codes.
    const int status = rng() % 10 != 0 ? o.statuses[0] : o.statuses[rng() % o.statuses.size()];
    t_ms += static_cast<int64_t>(rng() % 20);  // ~100 requests/s
    const time_t secs = static_cast<time_t>(t_ms / 1000);
    std::tm tm;
    gmtime_r(&secs, &tm);
    if (format == "otlp") {
      // Same draws as the combined format (3 address bytes, the size), so the requests match.
      const uint64_t a = rng() % 256, b = rng() % 256, c = rng() % 256, d = rng() % 5000;
      const int64_t start_ns = t_ms * 1000000;
      char ids[64];
      std::snprintf(ids, sizeof ids, "%016llx%02llx%02llx%02llx%010llx",
                    static_cast<unsigned long long>(r + 1), static_cast<unsigned long long>(a),
                    static_cast<unsigned long long>(b), static_cast<unsigned long long>(c),
                    static_cast<unsigned long long>(d));
      const std::string trace_id(ids, 32), span_id = std::string(ids, 16);
      const bool stable = r % 2 == 0;  // alternate semantic-convention generations
      std::string query = q.empty() ? "" : q.substr(1);
      std::string attrs;
      if (stable) {
        attrs = "{\"key\":\"http.request.method\",\"value\":{\"stringValue\":\"" + o.method +
                "\"}},{\"key\":\"url.path\",\"value\":{\"stringValue\":\"" + path + "\"}}," +
                (query.empty()
                     ? ""
                     : "{\"key\":\"url.query\",\"value\":{\"stringValue\":\"" + query + "\"}},") +
                "{\"key\":\"http.response.status_code\",\"value\":{\"intValue\":\"" +
                std::to_string(status) + "\"}}";
      } else {
        attrs =
            "{\"key\":\"http.method\",\"value\":{\"stringValue\":\"" + o.method +
            "\"}},{\"key\":\"http.target\",\"value\":{\"stringValue\":\"" + path + q +
            "\"}},{\"key\":\"http.status_code\",\"value\":{\"intValue\":" + std::to_string(status) +
            "}}";
      }
      auto span = [&](const char* kind, const std::string& sid, const std::string& at) {
        return "{\"traceId\":\"" + trace_id + "\",\"spanId\":\"" + sid + "\",\"name\":\"" +
               o.method + "\",\"kind\":\"" + kind + "\",\"startTimeUnixNano\":\"" +
               std::to_string(start_ns) + "\",\"endTimeUnixNano\":\"" +
               std::to_string(start_ns + 2000000) + "\",\"attributes\":[" + at + "]}";
      };
      if (!otlp_spans.empty()) otlp_spans += ',';
      otlp_spans += span("SPAN_KIND_SERVER", span_id, attrs);
      if (r % kOtlpClientEvery == 0) {  // a call to a peer: must not enter the served API
        otlp_spans += ',' + span("SPAN_KIND_CLIENT", "f" + span_id.substr(1),
                                 "{\"key\":\"http.request.method\",\"value\":{\"stringValue\":"
                                 "\"GET\"}},{\"key\":\"url.path\",\"value\":{\"stringValue\":"
                                 "\"/peer-service/items/" +
                                     std::to_string(r) +
                                     "\"}},{\"key\":\"http.response.status_code\",\"value\":"
                                     "{\"intValue\":\"200\"}}");
      }
      if (++otlp_in_line == kOtlpSpansPerLine || r + 1 == requests) {
        std::fprintf(out,
                     "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":"
                     "\"service.name\",\"value\":{\"stringValue\":\"api\"}}]},"
                     "\"scopeSpans\":[{\"spans\":[%s]}]}]}\n",
                     otlp_spans.c_str());
        otlp_spans.clear();
        otlp_in_line = 0;
      }
    } else if (format == "json") {
      std::fprintf(out,
                   "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\",\"method\":\"%s\","
                   "\"path\":\"%s%s\",\"status\":%d,\"bytes\":%d}\n",
                   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                   static_cast<int>(t_ms % 1000), o.method.c_str(), path.c_str(), q.c_str(), status,
                   static_cast<int>(rng() % 5000));
    } else {
      std::fprintf(out,
                   "10.%d.%d.%d - - [%02d/%s/%04d:%02d:%02d:%02d +0000] \"%s %s%s HTTP/1.1\" %d "
                   "%d \"-\" \"Mozilla/5.0 (X11; Linux x86_64)\"\n",
                   static_cast<int>(rng() % 256), static_cast<int>(rng() % 256),
                   static_cast<int>(rng() % 256), tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900,
                   tm.tm_hour, tm.tm_min, tm.tm_sec, o.method.c_str(), path.c_str(), q.c_str(),
                   status, static_cast<int>(rng() % 5000));
    }
  }
  std::fclose(out);
  std::FILE* truth = std::fopen(truth_path.c_str(), "w");
  if (truth == nullptr) {
    std::perror(truth_path.c_str());
    return 4;
  }
  for (const std::string& p : used) {
    std::fprintf(truth, "template\t%s%s\n", p.c_str(), with_enum.count(p) ? "\tenum" : "");
  }
  for (const std::string& c : constants) std::fprintf(truth, "constant\t%s\n", c.c_str());
  std::fclose(truth);
  std::fprintf(stderr,
               "api_loggen: %zu requests, %zu templates, %zu constant siblings (%zu added)\n",
               requests, used.size(), constants.size(), ops.size() - spec_ops);
  return 0;
}
