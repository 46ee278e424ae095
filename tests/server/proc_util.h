// Helpers for integration tests: child processes, free ports, temp dirs, polling with deadlines.
#ifndef BACKSIGHT_TESTS_SERVER_PROC_UTIL_H_
#define BACKSIGHT_TESTS_SERVER_PROC_UTIL_H_

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace backsight::testing {

/// A port that was free a moment ago on 127.0.0.1.
inline int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  close(fd);
  return port;
}

/// A fresh temporary directory removed on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "backsight_it_XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}
inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Polls `pred` every 50 ms until it returns true or `timeout_ms` passes.
inline bool WaitFor(const std::function<bool()>& pred, int64_t timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred();
}

/// A child process with stdout/stderr sent to files; killed (SIGKILL) on destruction.
class Process {
 public:
  Process(const std::vector<std::string>& argv, const std::string& log_path) : log_(log_path) {
    pid_ = fork();
    if (pid_ == 0) {
      int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      setpgid(0, 0);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
  }
  ~Process() {
    if (running()) {
      Signal(SIGKILL);
      Wait(10'000);
    }
  }
  void Signal(int sig) {
    if (pid_ > 0) kill(pid_, sig);
  }
  bool running() {
    if (pid_ <= 0 || exited_) return false;
    int st;
    pid_t r = waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      exited_ = true;
      status_ = st;
      return false;
    }
    return true;
  }
  /// Waits for exit; returns the exit code (128+signal if killed), or -1 on timeout.
  int Wait(int64_t timeout_ms) {
    WaitFor([this] { return !running(); }, timeout_ms);
    if (!exited_) return -1;
    return WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
  }
  std::string log() const { return ReadFile(log_); }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  int status_ = 0;
  std::string log_;
};

/// The port a `backsight serve` child says it listens on (its log line "listening on
/// ADDR:PORT"), polled as WaitFor does for up to `timeout_ms`; -1 when it exits first or the time
/// passes.
inline int WaitForListenPort(Process& p, int64_t timeout_ms) {
  int port = -1;
  WaitFor(
      [&] {
        std::smatch m;
        const std::string log = p.log();
        static const std::regex re("listening on [0-9.]+:([0-9]+)");
        if (std::regex_search(log, m, re)) {
          port = std::stoi(m[1]);
          return true;
        }
        return !p.running();
      },
      timeout_ms);
  return port;
}

inline bool HaveBinary(const std::string& path) { return access(path.c_str(), X_OK) == 0; }

/// A `key:  N kB` line of /proc/<pid>/status (VmRSS, VmHWM = peak RSS), in KiB; -1 if absent.
inline double ProcStatusKiB(int pid, const char* key) {
  const std::string s = ReadFile("/proc/" + std::to_string(pid) + "/status");
  std::smatch m;
  if (!std::regex_search(s, m, std::regex(std::string(key) + ":\\s+([0-9]+) kB"))) return -1;
  return std::stod(m[1]);
}

/// ProcStatusKiB as text in MiB ("12.3 MiB"), "?" if absent.
inline std::string ProcStatusMiB(int pid, const char* key) {
  const double kib = ProcStatusKiB(pid, key);
  if (kib < 0) return "?";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f MiB", kib / 1024.0);
  return buf;
}

/// CPU seconds (user + system) used so far by process `pid`, from /proc/<pid>/stat; NaN if gone.
inline double CpuSeconds(int pid) {
  const std::string s = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  const size_t p = s.rfind(')');
  if (p == std::string::npos) return NAN;
  std::istringstream in(s.substr(p + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::stod(field);
    if (i == 15) stime = std::stod(field);
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

/// Value of the sample `name` (with its labels, written as exposed) in exposition `text`; -1 if
/// absent.
inline double MetricValue(const std::string& text, const std::string& name) {
  std::regex re("\n" + std::regex_replace(name, std::regex(R"([{}+."])"), R"(\$&)") +
                " ([-+0-9.eE]+|NaN)\n");
  std::smatch m;
  if (!std::regex_search(text, m, re)) return -1;
  return std::stod(m[1]);
}

}  // namespace backsight::testing

#endif  // BACKSIGHT_TESTS_SERVER_PROC_UTIL_H_
