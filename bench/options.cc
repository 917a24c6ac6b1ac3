// Parses rtdemo_loadgen's command line into bench::Options. Kept apart from
// the run logic so the usage text and the defaults live next to each other.
#include "options.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <cstring>
#include <initializer_list>
#include <sstream>
#include <utility>

namespace bench {
namespace {

const char kUsage[] =
    "usage: rtdemo_loadgen --server rtdemo|nchan --port N [options]\n"
    "  --mode sse|ws|poll|ds    SSE streams, WebSockets, long-poll clients or\n"
    "                           (rtdemo only) Durable Streams live=sse readers\n"
    "                           of /v1/stream/{channel} (sse)\n"
    "  --host ADDR              server address, 127.0.0.0/8 only (127.0.0.1)\n"
    "  --ports P1,P2,...        several servers: connections go round-robin\n"
    "                           over these ports (instead of --port)\n"
    "  --subs N                 subscribers (100)\n"
    "  --channels C             channels, subscribers spread round-robin (1)\n"
    "  --messages M             messages to publish, 0 = idle run (50)\n"
    "  --rate R                 publish rate in msg/s over all channels (5)\n"
    "  --payload-bytes B        pad message data to B bytes (64)\n"
    "  --publishers P           keep-alive publisher connections (8)\n"
    "  --connect-concurrency K  connects in flight at once (500)\n"
    "  --connect-retries N      retries per subscriber (3)\n"
    "  --connect-timeout S      give up connecting after S seconds (120)\n"
    "  --settle-ms MS           idle wait before publishing (1000)\n"
    "  --drain-ms MS            stop waiting for deliveries after MS without "
    "one (3000)\n"
    "  --drain-max-ms MS        and at most MS after the last publish (60000)\n"
    "  --src-addrs N            source addresses 127.0.0.1..N (32)\n"
    "  --poll-timeout S         rtdemo long-poll timeout parameter (20)\n"
    "  --slow-subs N            subscribers that never read (0)\n"
    "  --slow-rcvbuf BYTES      their SO_RCVBUF (4096)\n"
    "  --slow-drain-ms MS       time to read a slow one at the end (2000)\n"
    "  --recv auto|io-uring|syscall  receive the sockets of one epoll round\n"
    "                           in one io_uring submission, or one recvmsg()\n"
    "                           each (auto: io_uring if the kernel allows)\n"
    "  --resume no|yes          SSE: reconnect a dropped stream with\n"
    "                           Last-Event-ID after the server's retry: (no)\n"
    "  --kill-pid PID[,PID]     SIGKILL PID (of several, the one with most\n"
    "                           descriptors open) --kill-after-s into\n"
    "  --kill-after-s S         publishing (5); with --resume: kill-one\n"
    "  --server-pid PID[,PID]   processes whose VmRSS is summed\n"
    "  --bus-pid PID[,PID]      processes whose CPU is reported apart\n"
    "                           (redis-server: bus_cpu_s)\n"
    "  --group DIR              one of --group-size loadgens that act as one\n"
    "                           run, meeting in DIR (bench/load_group.h)\n"
    "  --group-size K           processes in the group (1)\n"
    "  --group-index I          this one, 0..K-1; 0 publishes and reports\n"
    "  --channel-prefix S       channel name prefix (bench-<pid>-<time>)\n"
    "  --label TEXT             echoed in the RESULT line\n"
    "  --timeline FILE          write per-message latency (TSV) to FILE\n";

bool parseInt(const char* s, long lo, long hi, long* out) {
  char* end = nullptr;
  long v = std::strtol(s, &end, 10);
  if (end == s || *end != '\0' || v < lo || v > hi) return false;
  *out = v;
  return true;
}

// Appends the comma-separated integers of v, each in [lo, hi], to *out.
template <typename Int>
bool parseList(const char* v, long lo, long hi, std::vector<Int>* out) {
  std::stringstream ss(v);
  std::string item;
  long n = 0;
  while (std::getline(ss, item, ',')) {
    if (!parseInt(item.c_str(), lo, hi, &n)) return false;
    out->push_back(static_cast<Int>(n));
  }
  return true;
}

// Sets *out to the value named v among choices; false if none is.
template <typename Enum>
bool parseChoice(const char* v,
                 std::initializer_list<std::pair<const char*, Enum>> choices,
                 Enum* out) {
  for (const auto& [choice_name, value] : choices) {
    if (std::strcmp(v, choice_name) == 0) {
      *out = value;
      return true;
    }
  }
  return false;
}

}  // namespace

const char* serverName(ServerKind kind) {
  return kind == ServerKind::kRtdemo ? "rtdemo" : "nchan";
}

const char* modeName(Mode mode) {
  switch (mode) {
    case Mode::kSse:
      return "sse";
    case Mode::kWs:
      return "ws";
    case Mode::kPoll:
      return "poll";
    case Mode::kDs:
      return "ds";
  }
  return "?";
}

bool parseOptions(int argc, char** argv, Options* o, int* exit_code) {
  *exit_code = 2;
  for (int i = 1; i < argc; ++i) {
    std::string name = argv[i];
    if (name == "--help" || name == "-h") {
      std::fputs(kUsage, stdout);
      *exit_code = 0;
      return false;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "missing value for %s\n%s", name.c_str(), kUsage);
      return false;
    }
    const char* v = argv[++i];
    long n = 0;
    bool ok = true;
    auto intOpt = [&](long lo, long hi, int* field) {
      ok = parseInt(v, lo, hi, &n);
      if (ok) *field = static_cast<int>(n);
    };
    if (name == "--server") {
      ok = parseChoice(v, {{"rtdemo", ServerKind::kRtdemo},
                           {"nchan", ServerKind::kNchan}}, &o->server);
    } else if (name == "--mode") {
      ok = parseChoice(v, {{"sse", Mode::kSse}, {"poll", Mode::kPoll},
                           {"ws", Mode::kWs}, {"ds", Mode::kDs}}, &o->mode);
    } else if (name == "--recv") {
      ok = parseChoice(v, {{"auto", RecvMode::kAuto},
                           {"io-uring", RecvMode::kIoUring},
                           {"syscall", RecvMode::kSyscall}}, &o->recv);
    } else if (name == "--resume") {
      ok = parseChoice(v, {{"no", false}, {"yes", true}}, &o->resume);
    } else if (name == "--kill-pid") {
      ok = parseList(v, 1, 1L << 30, &o->kill_pids) && !o->kill_pids.empty();
    } else if (name == "--kill-after-s") {
      char* end = nullptr;
      o->kill_after_s = std::strtod(v, &end);
      ok = end != v && *end == '\0' && o->kill_after_s >= 0;
    } else if (name == "--host") {
      o->host = v;
    } else if (name == "--port") {
      ok = parseInt(v, 1, 65535, &n);
      o->port = static_cast<uint16_t>(n);
    } else if (name == "--subs") {
      intOpt(0, 1000000, &o->subs);
    } else if (name == "--channels") {
      intOpt(1, 1000000, &o->channels);
    } else if (name == "--messages") {
      intOpt(0, 100000000, &o->messages);
    } else if (name == "--rate") {
      char* end = nullptr;
      o->rate = std::strtod(v, &end);
      ok = end != v && *end == '\0' && o->rate > 0;
    } else if (name == "--payload-bytes") {
      intOpt(0, 1 << 20, &o->payload_bytes);
    } else if (name == "--publishers") {
      intOpt(1, 1000, &o->publishers);
    } else if (name == "--connect-concurrency") {
      intOpt(1, 1000000, &o->connect_concurrency);
    } else if (name == "--connect-retries") {
      intOpt(0, 100, &o->connect_retries);
    } else if (name == "--connect-timeout") {
      char* end = nullptr;
      o->connect_timeout_s = std::strtod(v, &end);
      ok = end != v && *end == '\0' && o->connect_timeout_s > 0;
    } else if (name == "--settle-ms") {
      intOpt(0, 3600000, &o->settle_ms);
    } else if (name == "--drain-ms") {
      intOpt(0, 3600000, &o->drain_ms);
    } else if (name == "--drain-max-ms") {
      intOpt(0, 3600000, &o->drain_max_ms);
    } else if (name == "--src-addrs") {
      intOpt(1, 254, &o->src_addrs);
    } else if (name == "--poll-timeout") {
      intOpt(1, 3600, &o->poll_timeout_s);
    } else if (name == "--slow-subs") {
      intOpt(0, 1000, &o->slow_subs);
    } else if (name == "--slow-rcvbuf") {
      intOpt(0, 1 << 26, &o->slow_rcvbuf);
    } else if (name == "--slow-drain-ms") {
      intOpt(0, 600000, &o->slow_drain_ms);
    } else if (name == "--ports") {
      ok = parseList(v, 1, 65535, &o->ports) && !o->ports.empty();
    } else if (name == "--server-pid") {
      ok = parseList(v, 1, 1L << 30, &o->server_pids);
    } else if (name == "--bus-pid") {
      ok = parseList(v, 1, 1L << 30, &o->bus_pids);
    } else if (name == "--group") {
      o->group_dir = v;
    } else if (name == "--group-size") {
      intOpt(1, 64, &o->group_size);
    } else if (name == "--group-index") {
      intOpt(0, 63, &o->group_index);
    } else if (name == "--channel-prefix") {
      o->channel_prefix = v;
    } else if (name == "--label") {
      o->label = v;
    } else if (name == "--timeline") {
      o->timeline_path = v;
    } else {
      std::fprintf(stderr, "unknown option %s\n%s", name.c_str(), kUsage);
      return false;
    }
    if (!ok) {
      std::fprintf(stderr, "bad value for %s: %s\n", name.c_str(), v);
      return false;
    }
  }
  if (o->ports.empty() && o->port != 0) o->ports.push_back(o->port);
  if (o->ports.empty()) {
    std::fprintf(stderr, "--port or --ports is required\n%s", kUsage);
    return false;
  }
  o->port = o->ports.front();
  if (o->mode == Mode::kDs && o->server != ServerKind::kRtdemo) {
    std::fprintf(stderr, "--mode ds needs --server rtdemo\n");
    return false;
  }
  if (o->group_size > 1 &&
      (o->group_dir.empty() || o->group_index >= o->group_size)) {
    std::fprintf(stderr,
                 "--group-size %d needs --group DIR and --group-index below "
                 "it\n",
                 o->group_size);
    return false;
  }
  if (o->group_size > 1 && !o->timeline_path.empty()) {
    std::fprintf(stderr, "--timeline is not supported with --group-size > 1\n");
    return false;
  }
  // The load must never leave this machine: refuse anything outside
  // 127.0.0.0/8, whatever the caller passes.
  in_addr addr{};
  if (inet_pton(AF_INET, o->host.c_str(), &addr) != 1 ||
      (ntohl(addr.s_addr) >> 24) != 127) {
    std::fprintf(stderr, "--host must be an IPv4 address in 127.0.0.0/8\n");
    return false;
  }
  if (o->channel_prefix.empty()) {
    o->channel_prefix = "bench-" + std::to_string(getpid()) + "-" +
                        std::to_string(static_cast<long>(std::time(nullptr)));
  }
  *exit_code = 0;
  return true;
}

}  // namespace bench
