// RtdemoApp: the rtdemo server process, a Poco::Util::ServerApplication.
//
// Start-up is strict: every configuration key is checked, the backend is
// opened and the port is bound before anything is served; any failure is one
// line on stderr and a non-zero exit. Shutdown on SIGTERM/SIGINT stops
// accepting, lets running requests finish, ends every stream so browsers
// reconnect, and closes the backend last.
#pragma once

#include <string>
#include <vector>

#include "Poco/Util/ServerApplication.h"

namespace rtdemo {

class RtdemoApp : public Poco::Util::ServerApplication {
 public:
  RtdemoApp();

 protected:
  void initialize(Poco::Util::Application& self) override;
  void defineOptions(Poco::Util::OptionSet& options) override;
  void handleOption(const std::string& name, const std::string& value) override;
  int main(const std::vector<std::string>& args) override;

 private:
  void handleHelp(const std::string& name, const std::string& value);
  void handleDefine(const std::string& name, const std::string& value);
  std::string findDefaultConfig() const;
  std::string resolve(const std::string& path) const;

  bool helpRequested_ = false;
  std::string startDir_;    // cwd at start; --daemon moves to / later
  std::string configFile_;  // the file actually loaded, absolute
  std::string initError_;   // reported by main(), which owns the exit code
};

}  // namespace rtdemo
