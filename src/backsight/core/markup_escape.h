// The one escaper for text put into HTML, SVG or XML (plots, JUnit/HTML reports).
#ifndef BACKSIGHT_CORE_MARKUP_ESCAPE_H_
#define BACKSIGHT_CORE_MARKUP_ESCAPE_H_

#include <string>
#include <string_view>

namespace backsight {

/// `s` with `&`, `<`, `>` and `"` replaced by `&amp;`, `&lt;`, `&gt;` and `&quot;`: safe as
/// element text and inside a double-quoted attribute value (XML 1.0 §2.4 and §3.1; HTML's
/// "escaping a string" minus the non-breaking space). Other bytes, UTF-8 included, pass through.
std::string XmlEscape(std::string_view s);

}  // namespace backsight

#endif  // BACKSIGHT_CORE_MARKUP_ESCAPE_H_
