#include "backsight/core/markup_escape.h"

#include <gtest/gtest.h>

namespace backsight {
namespace {

TEST(MarkupEscapeTest, EscapesTheFourMarkupCharactersOnly) {
  EXPECT_EQ(XmlEscape("a < b && c > \"d\""), "a &lt; b &amp;&amp; c &gt; &quot;d&quot;");
  EXPECT_EQ(XmlEscape("&amp;"), "&amp;amp;");  // not idempotent: escaped once, read once
  EXPECT_EQ(XmlEscape("it's 5\xC2\xB0"
                      "C"),
            "it's 5\xC2\xB0"
            "C");
  EXPECT_EQ(XmlEscape(""), "");
}

}  // namespace
}  // namespace backsight
