#include "backsight/logs/masker.h"

#include <cstring>

namespace backsight::logs {
namespace {

// Character classes, built once (hot path: one table lookup per byte).
enum : uint8_t {
  kDigit = 1,
  kAlpha = 2,
  kPathDelim = 4,  // , ! ; : = | " ' [ ] ( ) { }  (and whitespace)
  kSubDelim = 8,   // . - + @ # $ % & / (the '-' is special-cased)
  kSpace = 16,
  kHex = 32,
  kSlash = 64,
};

struct CharTable {
  uint8_t c[256] = {};
  CharTable() {
    for (int i = '0'; i <= '9'; ++i) c[i] |= kDigit | kHex;
    for (int i = 'a'; i <= 'z'; ++i) c[i] |= kAlpha;
    for (int i = 'A'; i <= 'Z'; ++i) c[i] |= kAlpha;
    for (int i = 'a'; i <= 'f'; ++i) c[i] |= kHex;
    for (int i = 'A'; i <= 'F'; ++i) c[i] |= kHex;
    for (char ch : std::string_view(",!;:=|\"'[](){}")) c[static_cast<uint8_t>(ch)] |= kPathDelim;
    for (char ch : std::string_view(" \t\r\n\v\f")) {
      c[static_cast<uint8_t>(ch)] |= kPathDelim | kSpace;
    }
    for (char ch : std::string_view(".-+@#$%&/")) c[static_cast<uint8_t>(ch)] |= kSubDelim;
    c[static_cast<uint8_t>('/')] |= kSlash;
  }
};
const CharTable kTable;

inline uint8_t Cls(char ch) { return kTable.c[static_cast<uint8_t>(ch)]; }

inline char Lower(char ch) { return (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch + 32) : ch; }

bool EqualsIgnoreCase(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != lower[i]) return false;
  }
  return true;
}

// BL and US rules: words that are values whatever their context.
bool IsValueWord(std::string_view s) {
  switch (s.size()) {
    case 4:
      return EqualsIgnoreCase(s, "true") || EqualsIgnoreCase(s, "null") ||
             EqualsIgnoreCase(s, "root");
    case 5:
      return EqualsIgnoreCase(s, "false") || EqualsIgnoreCase(s, "admin");
    default:
      return false;
  }
}

// `^(/[^/]+)+$`
bool IsUnixPath(std::string_view s) {
  if (s.size() < 2 || s[0] != '/' || s.back() == '/') return false;
  for (size_t i = 1; i < s.size(); ++i) {
    if (s[i] == '/' && s[i - 1] == '/') return false;
  }
  return true;
}

// Is the '-' at t[i] a separator (between two alphanumerics) rather than a sign or part of a word?
inline bool DashSeparates(std::string_view t, size_t i) {
  return i > 0 && i + 1 < t.size() && (Cls(t[i - 1]) & (kAlpha | kDigit)) &&
         (Cls(t[i + 1]) & (kAlpha | kDigit));
}

// 8-4-4-4-12 hex digits.
bool IsUuid(std::string_view u) {
  if (u.size() != 36) return false;
  for (size_t i = 0; i < 36; ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (u[i] != '-') return false;
    } else if (!(Cls(u[i]) & kHex)) {
      return false;
    }
  }
  return true;
}

constexpr bool kAbsorbTail = true;

void MaskUnit(std::string_view u, std::string* out) {
  if ((u[0] == '/' && IsUnixPath(u)) || IsUuid(u)) {
    out->append(kWildcard);
    return;
  }
  size_t i = 0;
  const size_t n = u.size();
  bool absorbing = false;  // after a variable, the rest of a `.`/`-` chain belongs to it
  while (i < n) {
    char ch = u[i];
    if ((Cls(ch) & kSubDelim) && (ch != '-' || DashSeparates(u, i))) {
      if (absorbing && (ch == '.' || ch == '-')) {
        ++i;
        continue;
      }
      absorbing = false;
      out->push_back(ch);
      ++i;
      continue;
    }
    // Scan one sub-unit, counting digits on the way (same decision as IsVariable).
    int digits = (Cls(ch) & kDigit) ? 1 : 0;
    size_t j = i + 1;
    while (j < n) {
      const uint8_t c = Cls(u[j]);
      if ((c & kSubDelim) && (u[j] != '-' || DashSeparates(u, j))) break;
      digits += (c & kDigit) ? 1 : 0;
      ++j;
    }
    std::string_view s = u.substr(i, j - i);
    bool var;
    if (digits == 0) {
      var = IsValueWord(s);
    } else if (digits >= 2 || (Cls(ch) & kDigit)) {
      var = true;
    } else {
      var = (ch == '-' || ch == '+') && s.size() > 1 && (Cls(s[1]) & kDigit);
    }
    if (absorbing) {
      // Part of the preceding variable.
    } else if (var) {
      out->append(kWildcard);
      absorbing = kAbsorbTail;
    } else {
      out->append(s);
    }
    i = j;
  }
}

inline bool WildAt(const std::string& s, size_t r) {
  return r + 3 <= s.size() && s[r] == '<' && s[r + 1] == '*' && s[r + 2] == '>';
}

// Collapses `<*>.<*>` (DV) and then `<*><*>` (CV) chains in out[start..] in place.
void CollapseChains(std::string* out, size_t start) {
  std::string& s = *out;
  for (int pass = 0; pass < 2; ++pass) {
    const size_t sep = pass == 0 ? 1 : 0;
    size_t w = start;
    size_t r = start;
    while (r < s.size()) {
      if (WildAt(s, r)) {
        // Copy the wildcard, then swallow (sep <*>)* that follow.
        if (w != r) std::memmove(&s[w], &s[r], 3);
        w += 3;
        r += 3;
        while ((sep == 0 || (r < s.size() && s[r] == '.')) && WildAt(s, r + sep)) r += sep + 3;
      } else {
        s[w++] = s[r++];
      }
    }
    s.resize(w);
  }
}

}  // namespace

void SplitTokens(std::string_view text, std::vector<std::string_view>* tokens) {
  tokens->clear();
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    while (i < n && IsSpace(text[i])) ++i;
    if (i >= n) break;
    size_t j = i;
    while (j < n && !IsSpace(text[j])) ++j;
    tokens->push_back(text.substr(i, j - i));
    i = j;
  }
}

void MaskToken(std::string_view t, std::string* out) {
  // Fast path: a plain word (no digit, slash or delimiter) is kept unless it is a value word.
  uint8_t acc = 0;
  for (char ch : t) acc |= Cls(ch);
  if (!(acc & (kDigit | kSlash | kPathDelim | kSubDelim))) {
    out->append(IsValueWord(t) ? kWildcard : t);
    return;
  }
  // URL: keep what precedes the scheme and the scheme, the rest (authority, path, query) is one
  // value; closing brackets/quotes/punctuation at the end stay.
  if (acc & kSlash) {
    const size_t sep = t.find("://");
    if (sep != std::string_view::npos && sep > 0 && (Cls(t[sep - 1]) & (kAlpha | kDigit)) &&
        sep + 3 < t.size()) {
      MaskToken(t.substr(0, sep), out);
      out->append("://");
      size_t end = t.size();
      while (end > sep + 3 &&
             std::string_view("])}>\"',;.").find(t[end - 1]) != std::string_view::npos) {
        --end;
      }
      if (end > sep + 3) out->append(kWildcard);
      out->append(t.substr(end));
      return;
    }
  }
  const size_t start = out->size();
  size_t i = 0;
  const size_t n = t.size();
  while (i < n) {
    if (Cls(t[i]) & kPathDelim) {
      out->push_back(t[i]);
      ++i;
      continue;
    }
    size_t j = i + 1;
    while (j < n && !(Cls(t[j]) & kPathDelim)) ++j;
    MaskUnit(t.substr(i, j - i), out);
    i = j;
  }
  // Chains need two wildcards at least.
  const size_t first = out->find(kWildcard, start);
  if (first != std::string::npos && out->find(kWildcard, first + 3) != std::string::npos) {
    CollapseChains(out, start);
  }
}

size_t MaskMessage(std::string_view text, size_t max_tokens, std::string* arena,
                   std::vector<uint32_t>* offsets, size_t max_token_bytes) {
  arena->clear();
  offsets->clear();
  if (max_tokens < 1) max_tokens = 1;
  size_t i = 0;
  const size_t n = text.size();
  size_t count = 0;
  while (i < n) {
    while (i < n && (Cls(text[i]) & kSpace)) ++i;
    if (i >= n) break;
    size_t j = i;
    uint8_t acc = 0;
    while (j < n) {
      const uint8_t c = Cls(text[j]);
      if (c & kSpace) break;
      acc |= c;
      ++j;
    }
    offsets->push_back(static_cast<uint32_t>(arena->size()));
    if (count + 1 == max_tokens) {
      // Is there another token after this one? Then fold everything into <*>.
      size_t k = j;
      while (k < n && (Cls(text[k]) & kSpace)) ++k;
      if (k < n) {
        arena->append(kWildcard);
        arena->push_back(' ');
        ++count;
        break;
      }
    }
    std::string_view tok = text.substr(i, j - i);
    if (tok.size() > 4 * max_token_bytes + 16) {
      arena->append(kWildcard);  // a blob: no need to mask it first
    } else if (!(acc & (kDigit | kSlash | kPathDelim | kSubDelim))) {
      arena->append(IsValueWord(tok) ? kWildcard : tok);
    } else {
      MaskToken(tok, arena);
    }
    if (arena->size() - offsets->back() > max_token_bytes) {
      arena->resize(offsets->back());
      arena->append(kWildcard);
    }
    arena->push_back(' ');
    ++count;
    i = j;
  }
  offsets->push_back(static_cast<uint32_t>(arena->size()));
  return count;
}

namespace {

bool IsPathDelimChar(char ch) { return (Cls(ch) & kPathDelim) != 0; }
bool IsTokenDelimChar(char ch) {
  return (Cls(ch) & kPathDelim) || (ch != '/' && (Cls(ch) & kSubDelim));
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char ch : s) {
    if (!(Cls(ch) & kDigit)) return false;
  }
  return true;
}

void ReplaceAllRepeated(std::string* s, std::string_view from, std::string_view to) {
  while (true) {
    std::string next;
    next.reserve(s->size());
    size_t pos = 0;
    bool changed = false;
    while (true) {
      size_t f = s->find(from, pos);
      if (f == std::string::npos) break;
      next.append(*s, pos, f - pos);
      next.append(to);
      pos = f + from.size();
      changed = true;
    }
    if (!changed) return;
    next.append(*s, pos, std::string::npos);
    *s = std::move(next);
  }
}

// Rewrites `*t` token by token: a token is a maximal run of characters that are not
// `is_delim`; it becomes kWildcard when `masked(token)`, else stays; delimiters stay.
template <typename IsDelim, typename Masked>
void WildcardTokens(std::string* t, IsDelim is_delim, Masked masked) {
  std::string r;
  r.reserve(t->size());
  size_t i = 0;
  while (i < t->size()) {
    if (is_delim((*t)[i])) {
      r.push_back((*t)[i++]);
      continue;
    }
    size_t j = i;
    while (j < t->size() && !is_delim((*t)[j])) ++j;
    const std::string_view tok(t->data() + i, j - i);
    r.append(masked(tok) ? kWildcard : tok);
    i = j;
  }
  *t = std::move(r);
}

}  // namespace

std::string CorrectTemplate(std::string_view in) {
  // DS: strip and collapse whitespace.
  std::string t;
  t.reserve(in.size());
  {
    size_t i = 0;
    while (i < in.size() && IsSpace(in[i])) ++i;
    size_t e = in.size();
    while (e > i && IsSpace(in[e - 1])) --e;
    bool space = false;
    for (; i < e; ++i) {
      if (IsSpace(in[i])) {
        space = true;
        continue;
      }
      if (space) t.push_back(' ');
      space = false;
      t.push_back(in[i]);
    }
  }
  // PS: path-like tokens between path delimiters become <*>.
  WildcardTokens(&t, IsPathDelimChar, IsUnixPath);
  // BL, US, DG, WV on tokens split by all delimiters.
  WildcardTokens(&t, IsTokenDelimChar, [](std::string_view tok) {
    return IsValueWord(tok) || AllDigits(tok) ||
           (tok.find(kWildcard) != std::string_view::npos &&
            tok.find('/') == std::string_view::npos);
  });
  ReplaceAllRepeated(&t, "<*>.<*>", "<*>");
  ReplaceAllRepeated(&t, "<*><*>", "<*>");
  return t;
}

uint64_t HashBytes(std::string_view s, uint64_t seed) {
  constexpr uint64_t kMul = 0x9FB21C651E98DF25ull;
  uint64_t h = seed ^ (s.size() * kMul);
  const char* p = s.data();
  size_t n = s.size();
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    h = (h ^ v) * kMul;
    h ^= h >> 29;
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    uint64_t v = 0;
    std::memcpy(&v, p, n);
    h = (h ^ v ^ (static_cast<uint64_t>(n) << 56)) * kMul;
  }
  h ^= h >> 33;
  h *= 0xFF51AFD7ED558CCDull;
  h ^= h >> 33;
  h *= 0xC4CEB9FE1A85EC53ull;
  h ^= h >> 33;
  return h;
}

}  // namespace backsight::logs
