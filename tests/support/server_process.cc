// Implementation of ServerProcess (see server_process.h).
#include "tests/support/server_process.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "tests/support/http_client.h"

extern char** environ;

namespace rtdemo {
namespace {

// A new empty file /tmp/rtdemo-test-XXXXXX-<stem>, which the caller removes.
std::string tempPath(const std::string& stem) {
  std::string tmpl = "/tmp/rtdemo-test-XXXXXX-" + stem;
  int fd = ::mkstemps(tmpl.data(), static_cast<int>(stem.size()) + 1);
  if (fd >= 0) ::close(fd);
  return tmpl;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The port in a complete port file ("N\n"), or 0 while there is none.
int readPortFile(const std::string& path) {
  std::string text = readFile(path);
  if (text.empty() || text.back() != '\n') return 0;
  try {
    return std::stoi(text);
  } catch (const std::exception&) {
    return 0;
  }
}

int waitExit(pid_t pid, std::chrono::milliseconds limit) {
  int status = 0;
  bool done = waitUntil([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, limit);
  if (!done) return -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

RefusingPort::RefusingPort() {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ADD_FAILURE() << "cannot reserve a loopback port";
    return;
  }
  port_ = ntohs(addr.sin_port);
}

RefusingPort::~RefusingPort() {
  if (fd_ >= 0) ::close(fd_);
}

pid_t ServerProcess::spawn(const std::vector<std::string>& args, const std::string& errPath) {
  std::vector<std::string> argv = {RTDEMO_BIN};
  bool ownConfig = false;
  for (const std::string& a : args) ownConfig = ownConfig || a == "--config" || a.rfind("--config=", 0) == 0;
  if (!ownConfig) {
    argv.push_back("--config");
    argv.push_back(RTDEMO_SOURCE_DIR "/etc/rtdemo.properties");
  }
  argv.push_back("-D");
  argv.push_back("rtdemo.demo.interval.seconds=0");
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 2, errPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, cargv[0], &actions, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

ServerProcess::ServerProcess(std::vector<std::string> args, int port, bool mustStart) {
  errPath_ = tempPath("stderr");
  portPath_ = tempPath("port");  // empty until rtdemo renames its own over it
  // A test that spells the port itself (--port=N) keeps its spelling.
  bool spelled = false;
  for (const std::string& a : args) spelled = spelled || a.rfind("--port=", 0) == 0;
  if (!spelled) {
    args.push_back("--port");
    args.push_back(std::to_string(port));
  }
  args.push_back("-D");
  args.push_back("rtdemo.port-file=" + portPath_);
  pid_ = spawn(args, errPath_);
  if (pid_ < 0) {
    ADD_FAILURE() << "cannot start " << RTDEMO_BIN;
    return;
  }
  ready_ = waitUntil(
      [&] {
        if ((port_ = readPortFile(portPath_)) != 0) return true;
        int status;
        return ::waitpid(pid_, &status, WNOHANG) == pid_ && (pid_ = -1, true);
      },
      std::chrono::seconds(20));
  ready_ = ready_ && pid_ > 0 && port_ != 0;
  if (ready_ && port != 0 && port_ != port) {
    ADD_FAILURE() << "rtdemo listens on " << port_ << ", not on the " << port << " asked for";
    ready_ = false;
  }
  if (!ready_ && mustStart) ADD_FAILURE() << "rtdemo did not start: " << stderrText();
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) stop(SIGKILL, std::chrono::seconds(5));
  ::unlink(errPath_.c_str());
  ::unlink(portPath_.c_str());
}

int ServerProcess::stop(int signal, std::chrono::milliseconds limit) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, signal);
  int code = waitExit(pid_, limit);
  if (code != -1) pid_ = -1;
  return code;
}

std::string ServerProcess::stderrText() const { return readFile(errPath_); }

int ServerProcess::openSockets() const {
  std::string dir = "/proc/" + std::to_string(pid_) + "/fd";
  DIR* d = ::opendir(dir.c_str());
  if (!d) return -1;
  int n = 0;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    char target[64] = {0};
    std::string link = dir + "/" + e->d_name;
    if (::readlink(link.c_str(), target, sizeof target - 1) > 0 &&
        std::string(target).rfind("socket:", 0) == 0)
      ++n;
  }
  ::closedir(d);
  return n;
}

ServerProcess::Exit ServerProcess::runToExit(const std::vector<std::string>& args,
                                             std::chrono::milliseconds limit) {
  Exit result;
  std::string err = tempPath("stderr");
  pid_t pid = spawn(args, err);
  if (pid < 0) return result;
  result.code = waitExit(pid, limit);
  if (result.code == -1) {
    ::kill(pid, SIGKILL);
    waitExit(pid, std::chrono::seconds(5));
  }
  result.stderrText = readFile(err);
  ::unlink(err.c_str());
  return result;
}

}  // namespace rtdemo
