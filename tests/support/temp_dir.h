// TempDir: a fresh directory for one test, removed when the test ends, that
// can hold small tmpfs mounts (a full disk, a read-only directory); and
// whole-file helpers for checking that a refusal left a file as it was.
//
// Mounting needs root (the sqlite label runs as root). Not thread-safe: one
// test thread uses a TempDir.
#pragma once

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace rtdemo {

// A fresh directory for one test; removed, with anything mounted on it
// unmounted first, when the test ends.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "rtdemo-test") {
    std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr)
      ADD_FAILURE() << "mkdtemp " << tmpl << ": " << std::strerror(errno);
    path_ = tmpl;
  }
  ~TempDir() {
    for (auto it = mounts_.rbegin(); it != mounts_.rend(); ++it)
      ::umount2(it->c_str(), MNT_DETACH);
    std::string cmd = "rm -rf '" + path_ + "'";
    if (std::system(cmd.c_str()) != 0) ADD_FAILURE() << "cannot remove " << path_;
  }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

  // Mounts a tmpfs of `bytes` at a new subdirectory `name` and returns it.
  std::string mountTmpfs(const std::string& name, size_t bytes, bool readOnly) {
    std::string dir = file(name);
    EXPECT_EQ(::mkdir(dir.c_str(), 0755), 0);
    std::string opts = "size=" + std::to_string(bytes);
    int rc = ::mount("tmpfs", dir.c_str(), "tmpfs", readOnly ? MS_RDONLY : 0,
                     opts.c_str());
    EXPECT_EQ(rc, 0) << "mount tmpfs on " << dir << ": " << std::strerror(errno)
                     << " (this test needs root)";
    if (rc == 0) mounts_.push_back(dir);
    return dir;
  }

 private:
  std::string path_;
  std::vector<std::string> mounts_;
};

// The whole file, or "" if it cannot be read.
inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Replaces the file with `bytes`.
inline void spit(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

inline bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

}  // namespace rtdemo
