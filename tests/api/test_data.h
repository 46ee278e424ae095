// Where the oasdiff corpus lives for tests: $BACKSIGHT_DATA/oasdiff, else ../shared/data/oasdiff
// next to the source tree. Empty when absent (corpus tests then skip).
#ifndef BACKSIGHT_TESTS_API_TEST_DATA_H_
#define BACKSIGHT_TESTS_API_TEST_DATA_H_

#include <filesystem>
#include <string>

#include "backsight/core/file_util.h"

namespace backsight::api {

inline std::string OasdiffDir() {
  for (std::string base : {DataDir(), std::string(BACKSIGHT_SOURCE_DIR) + "/../shared/data"}) {
    if (std::filesystem::is_directory(base + "/oasdiff/data")) return base + "/oasdiff";
  }
  return {};
}

}  // namespace backsight::api

#endif  // BACKSIGHT_TESTS_API_TEST_DATA_H_
