#include "backsight/security/request_inspector.h"

#include <modsecurity/intervention.h>
#include <modsecurity/modsecurity.h>
#include <modsecurity/rule_message.h>
#include <modsecurity/rules_set.h>
#include <modsecurity/transaction.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <unordered_map>
#include <unordered_set>

namespace backsight::security {
namespace {

// CRS attack rule families (CRS 3.3 file numbering): 930 LFI, 931 RFI, 932 RCE, 933 PHP,
// 934 Node.js, 941 XSS, 942 SQLi, 943 session fixation, 944 Java/log4j.
constexpr int kFirstAttackRule = 930000;
constexpr int kLastAttackRule = 944999;
// The tag CRS puts on its paranoia level 1 rules (the level meant to have no false positives on
// ordinary traffic, CRS documentation "Paranoia Levels"). Read from the rule files:
// libmodsecurity 3.0.9 leaves RuleMessage::m_tags empty for some rules (942100).
constexpr std::string_view kParanoiaLevel1Tag = "tag:'paranoia-level/1'";
// How many matched rules *why lists (the evidence stays one short line).
constexpr size_t kMaxRulesInWhy = 3;

// CRS anomaly points of a rule's severity (syslog levels as ModSecurity stores them: 2 critical,
// 3 error, 4 warning, 5 notice), the values of crs-setup.conf (rule 900100's defaults).
int SeverityPoints(int severity) {
  switch (severity) {
    case 0:
    case 1:
    case 2:
      return 5;
    case 3:
      return 4;
    case 4:
      return 3;
    case 5:
      return 2;
  }
  return 0;
}

// ASCII lower case (no locale lookup per byte; CRS's t:lowercase is ASCII too).
unsigned char LowerByte(char c) {
  const unsigned char u = static_cast<unsigned char>(c);
  return u >= 'A' && u <= 'Z' ? static_cast<unsigned char>(u + ('a' - 'A')) : u;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(LowerByte(c));
  return out;
}

}  // namespace

// Case-insensitive substring search for many phrases at once (@pmFromFile semantics): phrases are
// indexed by their first two bytes; a text position is checked only when its two bytes start
// some phrase (a 64 Kibit bitmap), so a clean path costs one bitmap probe per byte.
class PhraseSet {
 public:
  void Add(std::string phrase) {
    if (phrase.size() < 2) {
      short_.push_back(std::move(phrase));
      return;
    }
    const uint16_t key = Key(phrase[0], phrase[1]);
    bits_[key >> 6] |= uint64_t{1} << (key & 63);
    by_key_[key].push_back(std::move(phrase));
  }
  bool Contains(std::string_view text) const {
    for (const std::string& p : short_) {
      for (char c : text) {
        if (LowerByte(c) == static_cast<unsigned char>(p[0])) return true;
      }
    }
    for (size_t i = 0; i + 1 < text.size(); ++i) {
      const uint16_t key = Key(text[i], text[i + 1]);
      if (!(bits_[key >> 6] >> (key & 63) & 1)) continue;
      for (const std::string& p : by_key_.at(key)) {
        if (p.size() > text.size() - i) continue;
        size_t j = 2;
        while (j < p.size() && LowerByte(text[i + j]) == static_cast<unsigned char>(p[j])) ++j;
        if (j == p.size()) return true;
      }
    }
    return false;
  }

 private:
  static uint16_t Key(char a, char b) {
    return static_cast<uint16_t>(LowerByte(a) << 8 | LowerByte(b));
  }
  uint64_t bits_[1024] = {};
  std::unordered_map<uint16_t, std::vector<std::string>> by_key_;
  std::vector<std::string> short_;
};

namespace {

// One CRS .data file: one phrase per line, '#' comments (the @pmFromFile format).
Status LoadDataFile(const std::string& path, PhraseSet* out) {
  std::ifstream in(path);
  if (!in) return Status::IoError(path + ": cannot open the CRS data file");
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    out->Add(Lower(line));
  }
  return Status::OK();
}

// CPU time of the calling thread (not wall time: the figure holds on a shared machine).
double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Bytes that always pass the pre-filter (see RequestInspector::Suspicious).
struct SuspiciousTable {
  bool byte[256] = {};
  SuspiciousTable() {
    for (unsigned char c : std::string_view("'\"<>{}|`$\\\0", 12)) byte[c] = true;
  }
};
const SuspiciousTable kSuspicious;

bool IsWordByte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// `s` with %XX and '+' decoded (application/x-www-form-urlencoded, as CRS's t:urlDecodeUni
// sees it), into *out.
void Decode(std::string_view s, std::string* out) {
  out->clear();
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      c = static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    } else if (c == '+') {
      c = ' ';
    }
    out->push_back(c);
  }
}

// The shortest URL scheme CRS's wrapper and remote-inclusion rules name (php, ftp, zip, rar,
// ogg; 933140, 933200, 931120).
constexpr size_t kMinSchemeLetters = 3;

// SQL words that carry an injection without any special byte ("1 OR 1=1", "1 UNION SELECT 1").
const std::string_view kSqlWords[] = {"union", "select",    " or ",   " and ",
                                      "sleep", "benchmark", "waitfor"};

bool SuspiciousPart(std::string_view raw, const PhraseSet& files, const PhraseSet* words) {
  thread_local std::string s;
  Decode(raw, &s);
  if (files.Contains(s) || (words != nullptr && words->Contains(s))) return true;
  // In the query, a URL scheme in a parameter ("php://filter", "expect://id",
  // "http://host/shell.txt?"): CRS's PHP wrapper rules (933140, 933200) and remote file
  // inclusion rules (931) need no other attack byte. Every scheme those rules name has at least
  // kMinSchemeLetters letters.
  if (words != nullptr) {
    for (size_t p = s.find("://"); p != std::string::npos; p = s.find("://", p + 3)) {
      size_t letters = 0;
      while (letters < p && IsWordByte(s[p - letters - 1])) ++letters;
      if (letters >= kMinSchemeLetters) return true;
    }
  }
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (kSuspicious.byte[static_cast<unsigned char>(c)]) return true;
    const char prev = i > 0 ? s[i - 1] : 0;
    // Sequences: traversal "..", SQL comments "--" and "/*".
    if ((c == '.' && prev == '.') || (c == '-' && prev == '-') || (c == '*' && prev == '/')) {
      return true;
    }
    // '(' in a call shape "name(" (sleep(, alert(, char(); "(text)" in a campaign tag is not.
    if (c == '(' && IsWordByte(prev)) return true;
    // ';' that does not separate parameters ("a=1;b=2", Apache's "?C=D;O=A") starts a command.
    if (c == ';') {
      size_t j = i + 1;
      while (j < s.size() && IsWordByte(s[j])) ++j;
      if (j == i + 1 || j >= s.size() || s[j] != '=') return true;
    }
  }
  return false;
}

}  // namespace

// The ids of the rules tagged paranoia level 1 in one CRS rule file, into *out. Each directive
// ("SecRule ..." with its '\'-continued lines) is one rule; its "id:N" and tags are in it.
Status LoadParanoiaLevel1Ids(const std::string& path, std::unordered_set<int>* out) {
  std::ifstream in(path);
  if (!in) return Status::IoError(path + ": cannot open the CRS rule file");
  std::string line, directive;
  auto flush = [&] {
    const size_t id = directive.find("id:");
    if (id != std::string::npos && directive.find(kParanoiaLevel1Tag) != std::string::npos) {
      out->insert(std::atoi(directive.c_str() + id + 3));
    }
    directive.clear();
  };
  while (std::getline(in, line)) {
    if (line.starts_with("SecRule") || line.starts_with("SecAction")) flush();
    directive += line;
  }
  flush();
  return Status::OK();
}

struct RequestInspector::ModSec {
  modsecurity::ModSecurity engine;
  modsecurity::RulesSet rules;
};

RequestInspector::RequestInspector() = default;
RequestInspector::~RequestInspector() = default;

Status RequestInspector::Create(const InspectorOptions& options,
                                std::unique_ptr<RequestInspector>* out) {
  std::unique_ptr<RequestInspector> r(new RequestInspector());
  r->options_ = options;
  r->scanner_agents_ = std::make_unique<PhraseSet>();
  r->restricted_files_ = std::make_unique<PhraseSet>();
  r->os_files_ = std::make_unique<PhraseSet>();
  r->sql_words_ = std::make_unique<PhraseSet>();
  for (std::string_view w : kSqlWords) r->sql_words_->Add(std::string(w));
  Status st =
      LoadDataFile(options.crs_rules_dir + "/scanners-user-agents.data", r->scanner_agents_.get());
  if (st.ok()) {
    st = LoadDataFile(options.crs_rules_dir + "/restricted-files.data", r->restricted_files_.get());
  }
  if (st.ok()) st = LoadDataFile(options.crs_rules_dir + "/lfi-os-files.data", r->os_files_.get());
  if (!st.ok()) return st;
  if (options.modsecurity) {
    r->modsec_ = std::make_unique<ModSec>();
    // Matches are read from the transaction; without a callback libmodsecurity prints each
    // one to stdout.
    r->modsec_->engine.setServerLogCb([](void*, const void*) {},
                                      modsecurity::RuleMessageLogProperty);
    // Request rules only (we see no responses); anomaly scoring mode at CRS's defaults
    // (paranoia level 1, inbound threshold 5), as crs-setup.conf ships them.
    // (SecRequestBodyAccess Off would skip phase 2, where CRS 949110 decides, in libmodsecurity
    // 3.0.9; there is no body to read anyway.)
    // Attack families only (initialisation 901, common exceptions 905, 930..944 and the
    // blocking evaluation 949): protocol enforcement (920/921) would judge headers we
    // reconstructed, not the client's, and scanner detection (913) is IsScannerAgent.
    const std::string& dir = options.crs_rules_dir;
    const std::string conf = "SecRuleEngine On\nInclude " + options.crs_setup +
                             "\nSecAction \"id:900000,phase:1,nolog,pass,t:none,setvar:tx."
                             "paranoia_level=" +
                             std::to_string(options.paranoia_level) + "\"\nInclude " + dir +
                             "/REQUEST-901-INITIALIZATION.conf\nInclude " + dir +
                             "/REQUEST-905-COMMON-EXCEPTIONS.conf\nInclude " + dir +
                             "/REQUEST-93*.conf\nInclude " + dir + "/REQUEST-94*.conf\n";
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
      const std::string name = entry.path().filename().string();
      if (!name.starts_with("REQUEST-93") && !name.starts_with("REQUEST-94")) continue;
      if (Status lst = LoadParanoiaLevel1Ids(entry.path().string(), &r->pl1_rules_); !lst.ok()) {
        return lst;
      }
    }
    if (r->modsec_->rules.load(conf.c_str()) < 0) {
      return Status::InvalidArgument(
          Reason::kMalformed, "ModSecurity/CRS rules: " + r->modsec_->rules.getParserError());
    }
  }
  *out = std::move(r);
  return Status::OK();
}

bool RequestInspector::IsScannerAgent(std::string_view user_agent) const {
  return scanner_agents_->Contains(user_agent);
}

bool RequestInspector::IsRestrictedFile(std::string_view path) const {
  return restricted_files_->Contains(path);
}

bool RequestInspector::Suspicious(std::string_view path, std::string_view query) const {
  return SuspiciousPart(path, *os_files_, nullptr) ||
         SuspiciousPart(query, *os_files_, sql_words_.get());
}

bool RequestInspector::Inspect(std::string_view method, std::string_view path,
                               std::string_view query, std::string_view user_agent,
                               CrsVerdict* verdict) {
  verdict->blocked = false;
  verdict->attack_score = 0;
  verdict->attack_score_pl1 = 0;
  verdict->why.clear();
  ++stats_.requests;
  if (modsec_ == nullptr) return false;
  if (options_.prefilter && !Suspicious(path, query)) return false;
  ++stats_.inspected;
  const double t0 = ThreadCpuSeconds();
  std::string uri(path);
  if (!query.empty()) {
    uri += '?';
    uri += query;
  }
  modsecurity::Transaction t(&modsec_->engine, &modsec_->rules, nullptr);
  (void)t.processConnection("192.0.2.1", 40000, "192.0.2.2", 80);
  (void)t.processURI(uri.c_str(), std::string(method).c_str(), "1.1");
  (void)t.addRequestHeader("Host", "backsight.invalid");
  if (!user_agent.empty()) (void)t.addRequestHeader("User-Agent", std::string(user_agent));
  (void)t.processRequestHeaders();
  (void)t.processRequestBody();
  modsecurity::ModSecurityIntervention it;
  modsecurity::intervention::clean(&it);
  const bool blocked = t.intervention(&it) && it.disruptive;
  modsecurity::intervention::free(&it);
  if (blocked) {
    ++stats_.hits;
    verdict->blocked = true;
    std::string* why = &verdict->why;
    size_t n = 0;
    for (const modsecurity::RuleMessage& m : t.m_rulesMessages) {
      if (m.m_ruleId < kFirstAttackRule || m.m_ruleId > kLastAttackRule) continue;
      verdict->attack_score += SeverityPoints(m.m_severity);
      if (pl1_rules_.count(m.m_ruleId)) verdict->attack_score_pl1 += SeverityPoints(m.m_severity);
      if (n++ >= kMaxRulesInWhy) continue;
      if (!why->empty()) why->append("; ");
      why->append(std::to_string(m.m_ruleId) + " " + m.m_message);
    }
    if (why->empty()) why->assign("CRS inbound anomaly score over its threshold");
  }
  stats_.modsec_seconds += ThreadCpuSeconds() - t0;
  return blocked;
}

}  // namespace backsight::security
