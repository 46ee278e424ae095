// Running the npm clients of tests/js (node scripts) against a real `backsight serve`, and an
// Alertmanager stand-in, for the integration tests.
#ifndef BACKSIGHT_TESTS_SERVER_JS_CLIENT_UTIL_H_
#define BACKSIGHT_TESTS_SERVER_JS_CLIENT_UTIL_H_

#include <httplib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "proc_util.h"
#include "serve_util.h"

namespace backsight::testing {

inline const std::string kJsDir = std::string(BACKSIGHT_SOURCE_DIR) + "/tests/js";
inline constexpr const char* kNode = "/usr/bin/node";

/// False (with the reason in *why) when node or npm package `package` of tests/js is missing.
inline bool HaveJsPackage(const std::string& package, std::string* why) {
  if (!HaveBinary(kNode)) {
    *why = "node is not installed (/usr/bin/node); run scripts/install-deps.sh --test";
    return false;
  }
  if (access((kJsDir + "/node_modules/" + package + "/package.json").c_str(), R_OK) != 0) {
    *why = "npm clients missing in tests/js/node_modules; run scripts/install-js-test-deps.sh";
    return false;
  }
  return true;
}

// Runs `node <script> <url of s> args...` (the client scripts take the server's base URL first);
// returns its exit code and stdout+stderr in *out.
inline int RunNode(const std::string& script, const ServeProcess& s, const std::string& args,
                   std::string* out) {
  const std::string cmd = "cd '" + kJsDir + "' && " + kNode + " " + script +
                          " http://127.0.0.1:" + std::to_string(s.port()) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out->append(buf, n);
  int st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

inline nlohmann::json GetJson(const ServeProcess& s, const std::string& path) {
  return nlohmann::json::parse(s.Get(path), nullptr, false);
}

}  // namespace backsight::testing

#endif  // BACKSIGHT_TESTS_SERVER_JS_CLIENT_UTIL_H_
