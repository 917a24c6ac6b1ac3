// Command-line options of rtdemo_loadgen. One invocation runs one scenario
// against one server; bench/run.sh composes invocations into the comparison
// table, so every knob a scenario needs is an option here with a default that
// suits a quick interactive run.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bench {

// Which server's URL layout to speak. Both use standard SSE framing; they
// differ in paths, publish body format, long-poll cursor mechanics and
// WebSocket payloads (rtdemo: JSON messages; Nchan: the raw body).
enum class ServerKind { kRtdemo, kNchan };
// kDs: Durable Streams readers (live=sse on /v1/stream, ds_stream.h).
enum class Mode { kSse, kPoll, kWs, kDs };
// How the one reader thread receives (see BatchReceiver): auto uses io_uring
// where the kernel allows it and says so when it falls back.
enum class RecvMode { kAuto, kIoUring, kSyscall };

struct Options {
  ServerKind server = ServerKind::kRtdemo;
  Mode mode = Mode::kSse;
  std::string host = "127.0.0.1";  // must be in 127.0.0.0/8
  uint16_t port = 0;
  // Every port to connect to: --port alone gives {port}; --ports spreads
  // the connections round-robin over several servers (rtdemo instances
  // sharing one Redis, as a load balancer in front of them would).
  std::vector<uint16_t> ports;

  int subs = 100;            // subscribers (SSE streams, WebSockets or
                             // long-poll clients)
  int channels = 1;          // subscribers are spread round-robin over these
  int messages = 50;         // total messages to publish (0: idle run)
  double rate = 5.0;         // messages per second, over all channels
  int payload_bytes = 64;    // data is padded with 'x' up to this size
  int publishers = 8;        // keep-alive publisher connections

  int connect_concurrency = 500;  // connects in flight (not yet subscribed)
  int connect_retries = 3;        // per subscriber, after refused/reset/non-200
  double connect_timeout_s = 120;
  int settle_ms = 1000;      // idle time between "all subscribed" and publish
  int drain_ms = 3000;       // give up after this long without a delivery
  int drain_max_ms = 60000;  // and in any case this long after publishing
  int src_addrs = 32;        // spread client sockets over 127.0.0.1..N
  int poll_timeout_s = 20;   // rtdemo long-poll timeout (its max is 25)

  int slow_subs = 0;         // subscribers that never read (scenario 8)
  int slow_rcvbuf = 4096;    // SO_RCVBUF of the slow ones, set before connect
  int slow_drain_ms = 2000;  // how long to read a slow one to see its EOF

  RecvMode recv = RecvMode::kAuto;

  // --resume yes: an SSE subscriber whose stream drops after subscribing
  // reconnects, after the server's retry:, with Last-Event-ID (load_run_resume.cc).
  bool resume = false;
  // Member 0 SIGKILLs one of these kill_after_s into publishing:
  // the kill-one scenario, with the kill time known to the report.
  // With several, the one holding the most descriptors then (the instance
  // with the most clients).
  std::vector<int> kill_pids;
  double kill_after_s = 5;

  std::vector<int> server_pids;  // RSS is the sum of VmRSS over these
  std::vector<int> bus_pids;     // CPU reported apart (redis-server)

  // One of several loadgen processes that act as one run (load_group.h):
  // group_size > 1 with a directory all of them share. Member 0 publishes
  // and prints the merged report; the others only subscribe.
  std::string group_dir;
  int group_size = 1;
  int group_index = 0;
  std::string channel_prefix;    // default: bench-<pid>-<time>
  std::string label;             // echoed in the RESULT line
  std::string timeline_path;     // per-message latency TSV, if set
};

// Parses argv. On error or --help prints usage and returns false; *exit_code
// tells main what to return.
bool parseOptions(int argc, char** argv, Options* out, int* exit_code);

const char* serverName(ServerKind kind);
const char* modeName(Mode mode);

}  // namespace bench
