// Variable masking for log messages: a hand-written, allocation-free tokenizer and classifier
// that turns raw tokens into masked tokens (`<*>` for variables), plus the canonical template
// normalisation used by Loghub-2.0 (Khan et al., "Guidelines for Assessing the Accuracy of Log
// Message Template Identification Techniques", ICSE 2022: rules DS, PS, BL, US, DG, WV, DV, CV).
#ifndef BACKSIGHT_LOGS_MASKER_H_
#define BACKSIGHT_LOGS_MASKER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace backsight::logs {

/// The wildcard written for a variable part of a template.
inline constexpr std::string_view kWildcard = "<*>";

/// True for ' ', '\t', '\r', '\n', '\v', '\f'.
inline bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/// Splits `text` on runs of whitespace into `*tokens` (views into `text`; cleared first).
void SplitTokens(std::string_view text, std::vector<std::string_view>* tokens);

/// Masks one whitespace-free token and appends the result to `*out`.
///
/// A URL (`scheme://rest`) keeps its scheme and trailing closing punctuation; the rest is one
/// `<*>`. Otherwise the token is split on the "path delimiters" `, ! ; : = | " ' [ ] ( ) { }`; a
/// unit that is a Unix path (`/a/b`) or a UUID becomes `<*>`. Other units are split further on
/// `. + @ # $ % & /` and on `-` between two alphanumerics; a sub-unit is a variable (`<*>`) when
/// it starts with a digit (or a sign and a digit), holds two or more digits (ids such as
/// `blk_-123`, hex such as `0x7fed8`, `9f4ef63`), or is a boolean/null/root/admin word. Words with
/// one digit (`ssh2`, `L3`, `jk2_init`) stay. After a variable, the rest of its `.`/`-` chain is
/// part of it (`10.0.0.1` -> `<*>`, `MSRA-SA-39.corp.com` -> `MSRA-SA-<*>`). Finally `<*>.<*>` and
/// `<*><*>` chains collapse to one `<*>` (the Loghub-2.0 DV/CV rules), so IPs with ports become
/// `<*>:<*>`, key=value values `key=<*>`, timestamps `<*>:<*>:<*>`. Allocation-free when `*out`
/// has capacity.
void MaskToken(std::string_view token, std::string* out);

/// Splits `text` on whitespace and masks every token (MaskToken) in one pass. Writes the masked
/// tokens to `*arena`, each followed by one ' ', and their start offsets to `*offsets` plus a
/// final entry arena->size(), so token i is arena[offsets[i], offsets[i+1] - 1). Beyond
/// `max_tokens` (>= 1) tokens, the last kept token is `<*>` and stands for the rest; a masked
/// token longer than `max_token_bytes` (a blob) becomes `<*>`. Both outputs are cleared first.
/// Returns the token count. Allocation-free once the buffers have grown.
size_t MaskMessage(std::string_view text, size_t max_tokens, std::string* arena,
                   std::vector<uint32_t>* offsets, size_t max_token_bytes = 256);

/// Applies the Loghub-2.0 template correction rules (ICSE'22: DS, PS, BL, US, DG, WV, DV, CV)
/// to a whole template string and returns the canonical form. Idempotent. Used for output and by
/// tests; pure function of its input.
std::string CorrectTemplate(std::string_view tmpl);

/// 64-bit FNV-1a-style hash with a final avalanche (stable across runs and platforms).
uint64_t HashBytes(std::string_view s, uint64_t seed = 0x9E3779B97F4A7C15ull);

}  // namespace backsight::logs

#endif  // BACKSIGHT_LOGS_MASKER_H_
