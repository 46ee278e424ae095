#include "backsight/analyze/api/document.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "backsight/analyze/api/differ.h"
#include "test_data.h"

namespace backsight::api {
namespace {

TEST(DocumentTest, KeepsPositionsAndResolvesLocalRefs) {
  Spec spec;
  ASSERT_TRUE(LoadSpecText("openapi: 3.0.0\n"
                           "components:\n"
                           "  schemas:\n"
                           "    A:\n"
                           "      type: string\n"
                           "    B:\n"
                           "      $ref: '#/components/schemas/A'\n",
                           "t.yaml", &spec)
                  .ok());
  const Node* b = spec.root().root()->Get("components")->Get("schemas")->Get("B");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->line, 7);
  const Node* a = Deref(b);
  ASSERT_NE(a, b);
  EXPECT_EQ(a->Str("type"), "string");
  EXPECT_EQ(a->Where(), "t.yaml:5");
}

TEST(DocumentTest, CircularRefsEndAndSelfRefIsResolved) {
  Spec spec;
  ASSERT_TRUE(LoadSpecText("a: {$ref: '#/b'}\nb: {$ref: '#/a'}\n"
                           "n: {properties: {next: {$ref: '#/n'}}}\n",
                           "c.yaml", &spec)
                  .ok());
  const Node* root = spec.root().root();
  (void)Deref(root->Get("a"));  // must return, not loop
  const Node* n = root->Get("n");
  EXPECT_EQ(Deref(n->Get("properties")->Get("next")), n);
}

TEST(DocumentTest, ErrorsNameFileLineColumn) {
  Spec spec;
  Status st = LoadSpecText("a: 1\nb: [1, 2\n", "bad.yaml", &spec);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("bad.yaml:"), std::string::npos) << st.message();
  st = LoadSpecText("a:\n  $ref: '#/nowhere'\n", "r.yaml", &spec);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("r.yaml:2:"), std::string::npos) << st.message();
  std::string deep(100000, '[');
  st = LoadSpecText(deep, "deep.yaml", &spec);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("nesting"), std::string::npos) << st.message();
}

TEST(DocumentTest, CrossFileRefs) {
  std::string dir = OasdiffDir();
  if (dir.empty()) GTEST_SKIP() << "oasdiff corpus not found (set BACKSIGHT_DATA)";
  Spec spec;
  Status st = LoadSpec(dir + "/data/circular2.yaml", &spec);
  ASSERT_TRUE(st.ok()) << st.ToString();
}

// Every file of the corpus loads without a crash, a hang or an error, and equals itself.
TEST(DocumentTest, LoadsAllCorpusFiles) {
  std::string dir = OasdiffDir();
  if (dir.empty()) GTEST_SKIP() << "oasdiff corpus not found (set BACKSIGHT_DATA)";
  int files = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir + "/data")) {
    if (!e.is_regular_file()) continue;
    std::string ext = e.path().extension().string();
    if (ext != ".yaml" && ext != ".yml" && ext != ".json") continue;
    ++files;
    Spec spec;
    Status st = LoadSpec(e.path().string(), &spec);
    EXPECT_TRUE(st.ok()) << st.ToString();
    // A document compared with itself has no change (and the differ ends on every file).
    auto changes = DiffSpecs(spec, spec);
    EXPECT_TRUE(changes.empty()) << e.path() << ": " << changes.size() << " changes, first "
                                 << (changes.empty() ? "" : changes[0].rule);
  }
  EXPECT_GE(files, 600);
}

}  // namespace
}  // namespace backsight::api
