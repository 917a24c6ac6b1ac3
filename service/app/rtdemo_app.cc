// Implementation of RtdemoApp (see rtdemo_app.h).
#include "service/app/rtdemo_app.h"

#include <limits.h>
#include <stdlib.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <thread>

#include "Poco/AutoPtr.h"
#include "Poco/ConsoleChannel.h"
#include "Poco/File.h"
#include "Poco/FormattingChannel.h"
#include "Poco/Logger.h"
#include "Poco/Net/HTTPServer.h"
#include "Poco/Net/HTTPServerParams.h"
#include "Poco/Net/NetException.h"
#include "Poco/Net/ServerSocket.h"
#include "Poco/Path.h"
#include "Poco/PatternFormatter.h"
#include "Poco/String.h"
#include "Poco/Util/HelpFormatter.h"
#include "Poco/Util/Option.h"
#include "Poco/Util/OptionSet.h"
#include "service/hub/batch_sender.h"
#include "service/http/connection_returner.h"
#include "service/app/demo_ticker.h"
#include "service/http/handler_factory.h"
#include "service/http/guarded_server.h"
#include "service/app/journal_log.h"
#include "service/app/listen_socket.h"
#include "service/http/service_context.h"
#include "service/app/settings.h"
#include "service/app/systemd_notifier.h"

#ifndef RTDEMO_VERSION
#define RTDEMO_VERSION "dev"
#endif

using Poco::Util::Option;
using Poco::Util::OptionCallback;

namespace rtdemo {
namespace {

void setUpLogging(const std::string& level) {
  // Under systemd, lines carry their priority for journald (journal_log.h).
  Poco::AutoPtr<Poco::PatternFormatter> format(
      stderrIsJournal() ? new JournalFormatter("[%p] %t")
                        : new Poco::PatternFormatter("%Y-%m-%d %H:%M:%S.%i [%p] %t"));
  format->setProperty("times", "UTC");
  Poco::AutoPtr<Poco::FormattingChannel> channel(
      new Poco::FormattingChannel(format, new Poco::ConsoleChannel(std::cerr)));
  Poco::Logger::root().setChannel(channel);
  Poco::Logger::root().setLevel(level);
  Poco::Logger::get("rtdemo").setChannel(channel);
  Poco::Logger::get("rtdemo").setLevel(level);
}

bool hasIndex(const std::string& dir) {
  return Poco::File(Poco::Path(dir).append("index.html")).exists();
}

// What the handlers read of the settings (http/handler_settings.h).
HandlerSettings handlerSettings(const Settings& s) {
  HandlerSettings h;
  h.webRoot = s.webRoot;
  h.pollTimeoutSeconds = s.pollTimeoutSeconds;
  h.pollMaxBatch = s.pollMaxBatch;
  h.retryMs = s.retryMs;
  h.retryJitterMs = s.retryJitterMs;
  h.streamBufferBytes = s.streamBufferBytes;
  h.sendMaxBytes = s.sendMaxBytes;
  h.batchMaxMessages = s.broker.batchMaxMessages;
  h.batchMaxBytes = s.broker.batchMaxBytes;
  h.streamMaxBytes = s.streamMaxBytes;
  h.historyMaxBytes = s.broker.historyMaxBytes;
  h.historyMaxChannels = s.broker.historyMaxChannels;
  return h;
}

// Writes `port` and a newline to `path` for whoever started rtdemo on port 0.
// Through a temporary file and rename(), so a reader polling for the file
// never sees it empty or half written.
bool writePortFile(const std::string& path, int port, std::string* error) {
  std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  bool ok = f != nullptr && std::fprintf(f, "%d\n", port) > 0;
  ok = f != nullptr && std::fclose(f) == 0 && ok;
  ok = ok && std::rename(tmp.c_str(), path.c_str()) == 0;
  if (!ok) {
    *error = std::strerror(errno);
    std::remove(tmp.c_str());
  }
  return ok;
}

// Waits for running handlers (a publish that is committing, say) to finish.
void waitForHandlers(const ServiceContext& ctx, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (ctx.inFlight.load() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

// Waits until every connection the server accepted before it stopped
// accepting has been answered or gone idle between requests. POCO's stop
// ends a connection whose request it has not begun to handle without an
// answer; a publish sent just before a restart would be lost to its client.
void waitForAcceptedRequests(HandshakeWatchdog& watchdog, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    HandshakeWatchdog::PoolStats s = watchdog.stats(Pool::kServer);
    if (s.connections <= s.idle || std::chrono::steady_clock::now() >= deadline) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace

RtdemoApp::RtdemoApp() { setUnixOptions(true); }

void RtdemoApp::defineOptions(Poco::Util::OptionSet& options) {
  ServerApplication::defineOptions(options);
  // Options are parsed before --daemon moves to "/", so relative paths given
  // on the command line are resolved against this directory.
  startDir_ = Poco::Path::current();

  options.addOption(Option("help", "h", "Show this help and exit.")
                        .required(false)
                        .repeatable(false)
                        .callback(OptionCallback<RtdemoApp>(this, &RtdemoApp::handleHelp)));
  options.addOption(Option("port", "p", "Port to listen on (rtdemo.port, default 5000).")
                        .required(false)
                        .repeatable(false)
                        .argument("PORT")
                        .binding("rtdemo.port"));
  options.addOption(Option("config", "c",
                           "Configuration file (default: etc/rtdemo.properties next "
                           "to the binary, or /etc/rtdemo/rtdemo.properties).")
                        .required(false)
                        .repeatable(false)
                        .argument("FILE"));
  options.addOption(Option("backend", "b", "History backend: memory, sqlite or redis.")
                        .required(false)
                        .repeatable(false)
                        .argument("NAME")
                        .binding("rtdemo.backend"));
  options.addOption(Option("define", "D", "Set a configuration key, e.g. -D rtdemo.heartbeat.seconds=5.")
                        .required(false)
                        .repeatable(true)
                        .argument("KEY=VALUE")
                        .callback(OptionCallback<RtdemoApp>(this, &RtdemoApp::handleDefine)));
}

void RtdemoApp::handleOption(const std::string& name, const std::string& value) {
  ServerApplication::handleOption(name, value);
  if (name == "config") configFile_ = resolve(value);
}

void RtdemoApp::handleHelp(const std::string&, const std::string&) {
  helpRequested_ = true;
  Poco::Util::HelpFormatter help(options());
  help.setCommand(commandName());
  help.setUsage("[OPTIONS]");
  help.setHeader(
      "rtdemo " RTDEMO_VERSION ": a real-time push server. Browsers subscribe with "
      "Server-Sent Events (GET /events), long polling (GET /poll) or WebSocket "
      "(GET /ws); publishers POST /send, or publish over their WebSocket.");
  help.setFooter("Every key is documented in etc/rtdemo.properties. Command-line "
                 "values override the file.");
  help.format(std::cout);
  stopOptionsProcessing();
}

void RtdemoApp::handleDefine(const std::string&, const std::string& value) {
  size_t eq = value.find('=');
  if (eq == std::string::npos || eq == 0) {
    initError_ = "bad -D argument '" + value + "': expected KEY=VALUE";
    return;
  }
  config().setString(value.substr(0, eq), value.substr(eq + 1));
}

std::string RtdemoApp::resolve(const std::string& path) const {
  if (path.empty()) return path;
  Poco::Path p(path);
  if (p.isAbsolute()) return p.toString();
  return Poco::Path(Poco::Path::forDirectory(startDir_)).resolve(p).toString();
}

std::string RtdemoApp::findDefaultConfig() const {
  Poco::Path bin(config().getString("application.path"));
  Poco::Path binDir = bin.parent();
  std::vector<Poco::Path> candidates = {
      Poco::Path(binDir).append("../etc/rtdemo.properties"),          // build/rtdemo
      Poco::Path(binDir).append("../../etc/rtdemo/rtdemo.properties"), // /usr/bin/rtdemo
      Poco::Path(binDir).append("../etc/rtdemo/rtdemo.properties"),    // /usr/local/bin
      Poco::Path("/etc/rtdemo/rtdemo.properties"),
  };
  for (Poco::Path& p : candidates) {
    p.makeAbsolute();
    if (!Poco::File(p).exists()) continue;
    // Logged at start, so show it without the "bin/../" detour.
    char real[PATH_MAX];
    return ::realpath(p.toString().c_str(), real) ? std::string(real) : p.toString();
  }
  return "";
}

void RtdemoApp::initialize(Poco::Util::Application& self) {
  if (helpRequested_) return;
  if (configFile_.empty()) configFile_ = findDefaultConfig();
  if (!configFile_.empty()) {
    if (!Poco::File(configFile_).exists()) {
      if (initError_.empty()) initError_ = "configuration file " + configFile_ + " does not exist";
    } else {
      try {
        // PRIO_DEFAULT sits below the layer that --port, --backend and -D
        // write to, so the command line wins over the file.
        loadConfiguration(configFile_, PRIO_DEFAULT);
      } catch (const Poco::Exception& e) {
        if (initError_.empty())
          initError_ = "cannot read configuration file " + configFile_ + ": " + e.displayText();
      }
    }
  }
  ServerApplication::initialize(self);
}

int RtdemoApp::main(const std::vector<std::string>&) {
  if (helpRequested_) return EXIT_OK;
  SystemdNotifier systemd;  // no-op unless started by systemd (Type=notify)
  auto fail = [&systemd](const std::string& line, int code) {
    // An error for journald too: logging is not set up yet.
    std::cerr << (stderrIsJournal() ? journalPriorityPrefix(Poco::Message::PRIO_ERROR) : "")
              << "rtdemo: " << line << std::endl;
    systemd.status("failed to start: " + line);
    return code;
  };
  if (!initError_.empty()) return fail(initError_, EXIT_CONFIG);

  auto ctx = std::make_shared<ServiceContext>();
  // A file that loading the settings reads itself must be found from the
  // start directory too: with --daemon this already runs in "/". (The other
  // path keys are resolved below, after loading.)
  for (const char* key : {"rtdemo.auth.jwt.secret-file"}) {
    std::string path = Poco::trim(config().getString(key, ""));
    if (!path.empty()) config().setString(key, resolve(path));
  }
  Settings settings;
  Status s = loadSettings(config(), &settings);
  if (!s.ok()) return fail(s.message(), EXIT_CONFIG);
  setUpLogging(settings.logLevel);
  Poco::Logger& log = Poco::Logger::get("rtdemo");

  // Resolve every relative path now: --daemon changes to "/".
  if (settings.webRoot.empty()) {
    Poco::Path binDir = Poco::Path(config().getString("application.path")).parent();
    std::vector<std::string> candidates;
    if (!configFile_.empty())
      candidates.push_back(Poco::Path(configFile_).parent().append("../web").toString());
    candidates.push_back(Poco::Path(binDir).append("../web").toString());
    candidates.push_back(Poco::Path(binDir).append("../share/rtdemo/web").toString());
    for (const std::string& c : candidates) {
      if (hasIndex(c)) {
        settings.webRoot = c;
        break;
      }
    }
    if (settings.webRoot.empty())
      return fail("cannot find the web files (index.html); set rtdemo.web.root", EXIT_CONFIG);
  }
  settings.webRoot = Poco::Path(resolve(settings.webRoot)).makeAbsolute().toString();
  if (!hasIndex(settings.webRoot))
    return fail("rtdemo.web.root " + settings.webRoot + " holds no index.html", EXIT_CONFIG);
  settings.broker.sqlitePath = resolve(settings.broker.sqlitePath);
  if (!settings.portFile.empty()) settings.portFile = resolve(settings.portFile);
  ctx->settings = handlerSettings(settings);

  Status opened;
  ctx->broker = openBroker(settings.broker, &opened);
  if (!ctx->broker)
    return fail("cannot open the " + settings.broker.backend + " backend: " + opened.message(),
                EXIT_UNAVAILABLE);

  // Under systemd, the socket an earlier rtdemo kept in the fd store, so
  // that a restart refuses nobody (listen_socket.h); else bound here.
  Listener listening;
  try {
    listening = openListener(settings.bind, settings.port, 4096, settings.reusePort);
  } catch (const Poco::Exception& e) {
    return fail("cannot listen on " + settings.bind + ":" + std::to_string(settings.port) +
                    ": " + e.displayText(),
                EXIT_UNAVAILABLE);
  }
  Poco::Net::ServerSocket& listener = listening.socket;
  if (listening.fromStore) log.information("listening socket taken over from systemd's fd store");
  // The port is known (and accepts) from here on, even when it was 0.
  const int boundPort = listener.address().port();
  std::string portFileError;
  if (!settings.portFile.empty() && !writePortFile(settings.portFile, boundPort, &portFileError))
    return fail("cannot write rtdemo.port-file " + settings.portFile + ": " + portFileError,
                EXIT_CANTCREAT);

  auto* params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(settings.httpThreads);
  params->setMaxQueued(settings.httpQueue);
  params->setKeepAlive(true);
  params->setKeepAliveTimeout(Poco::Timespan(15, 0));
  params->setTimeout(Poco::Timespan(15, 0));
  // Idle pool threads leave after a second. Besides trimming the pool, this
  // bounds shutdown: a dispatcher thread that misses the stop wake-up waits
  // out its idle time before the pool can be joined.
  params->setThreadIdleTime(Poco::Timespan(1, 0));
  params->setServerName("rtdemo");
  params->setSoftwareVersion("rtdemo/" RTDEMO_VERSION);
  Poco::Net::HTTPServerParams::Ptr sharedParams(params);
  Poco::Net::HTTPRequestHandlerFactory::Ptr factory(new HandlerFactory(ctx));
  // One pool for the server's own dispatcher and for the connections the hub
  // hands back, each capped at rtdemo.http.threads.
  Poco::ThreadPool pool(2, 2 * settings.httpThreads + 2);
  // Before the returner: its connections are guarded by the same watchdog.
  ctx->security = std::make_unique<Security>(settings.security, settings.trustedProxies);
  ctx->requestSecurity = std::make_unique<RequestSecurity>(ctx->security.get());
  ctx->security->start();
  ConnectionReturner returner(factory, pool, sharedParams, &ctx->security->watchdog(),
                              settings.security.handshakeSeconds);

  HubOptions hubOptions;
  hubOptions.loops = settings.hubLoops;
  hubOptions.batchSends = settings.hubIoUring != "off";
  std::string noUring;
  // Probe once here, so that "on" can refuse to start and "auto" says once,
  // not once per loop, why fan-out falls back to send().
  if (hubOptions.batchSends && !BatchSender::open(8, &noUring)) {
    if (settings.hubIoUring == "on")
      return fail("rtdemo.hub.io-uring is on but io_uring is unavailable: " + noUring,
                  EXIT_UNAVAILABLE);
    log.notice("io_uring unavailable (%s); fan-out uses one send() per socket", noUring);
    hubOptions.batchSends = false;
  }
  hubOptions.heartbeatSeconds = settings.heartbeatSeconds;
  hubOptions.maxBufferBytes = settings.streamBufferBytes;
  hubOptions.pollMaxBatch = static_cast<size_t>(settings.pollMaxBatch);
  hubOptions.sendMaxBytes = settings.sendMaxBytes;
  hubOptions.batchMaxMessages = settings.broker.batchMaxMessages;
  hubOptions.batchMaxBytes = settings.broker.batchMaxBytes;
  hubOptions.workerQueueMax = static_cast<size_t>(settings.hubWorkerQueue);
  hubOptions.wsSubscribeRate = settings.wsSubscribeRate;
  hubOptions.wsInFlightMax = settings.wsInFlight;
  hubOptions.tokenLeewaySeconds = settings.security.jwtLeewaySeconds;
  hubOptions.keepAliveIdleMs = sharedParams->getKeepAliveTimeout().totalMilliseconds();
  hubOptions.pollTimeoutMaxMs = int64_t{settings.pollTimeoutSeconds} * 1000;
  // A re-poll read by the hub must be one the HTTP server would accept.
  // (A request-line limit of 0 is off; the header limits always apply.)
  const SecuritySettings& limits = settings.security;
  hubOptions.nextPollLimits.maxBytes = std::min<size_t>(
      {4096, limits.requestLineMaxBytes > 0 ? limits.requestLineMaxBytes : 4096,
       limits.headerMaxBytes});
  hubOptions.nextPollLimits.maxHeaders = limits.headerMaxCount;
  hubOptions.handBack = [&returner](const Poco::Net::StreamSocket& s) { returner.handBack(s); };
  Security* security = ctx->security.get();
  hubOptions.onRelease = [security](int fd) { security->connections().release(fd); };
  ctx->hub = std::make_unique<Hub>(ctx->broker.get(), hubOptions);
  ctx->hub->start();
  // HTTPServer plus a deadline on request heads and bodies (slowloris).
  GuardedHttpServer server(factory, pool, listener, sharedParams, &ctx->security->watchdog(),
                           settings.security.handshakeSeconds);
  server.start();

  DemoTicker ticker(ctx->broker.get(), settings.demoChannel, settings.demoIntervalSeconds,
                    &ctx->demoPublished);
  ticker.start();

  log.information("rtdemo %s started: backend %s, listening on http://%s:%d, config %s",
                  std::string(RTDEMO_VERSION), ctx->broker->name(), settings.bind, boundPort,
                  configFile_.empty() ? std::string("(none)") : configFile_);

  // Only now: systemd starts dependent units and counts the start as done
  // on READY=1, so the port must already accept and the backend be open.
  systemd.ready("serving on port " + std::to_string(boundPort) +
                ", backend " + ctx->broker->name());
  // After READY=1, which stays the first notification systemd gets.
  std::string storeError;
  if (!listening.fromStore && !storeListener(listener, &storeError))
    log.warning("cannot hand the listening socket to systemd (%s): a restart will refuse "
                "connections for a moment",
                storeError);
  systemd.startWatchdog([ctx](std::string* status) {
    // The same window /healthz uses: loops turn at least once a second.
    return rtdemoAlive(*ctx->hub, *ctx->broker, 10000, status);
  });

  waitForTerminationRequest();

  // Before the hub stops, or its stopped loops would read as a wedge.
  systemd.stopWatchdog();
  systemd.stopping("stopping: closing streams so clients reconnect");
  log.information("rtdemo stopping");
  ticker.stop();
  // Stop accepting, close idle keep-alive connections, and let running
  // requests finish; only then end streams and close the backend. What
  // connects from now on waits for the next instance (listen_socket.h).
  releaseListener(listener);
  waitForAcceptedRequests(ctx->security->watchdog(), std::chrono::seconds(1));
  server.stopAll(false);
  waitForHandlers(*ctx, std::chrono::seconds(5));
  ctx->hub->stop();
  returner.stop();
  ctx->security->stop();
  if (ctx->inFlight.load() == 0) {
    ctx->hub.reset();
    ctx->broker.reset();
  }
  // Like a pid file: gone after a clean exit, left behind by a crash.
  if (!settings.portFile.empty()) std::remove(settings.portFile.c_str());
  log.information("rtdemo stopped");
  return EXIT_OK;
}

}  // namespace rtdemo
