// What one benchmark run counts, and a visitor over every counter so that
// the counts of several loadgen processes (load_group.h) are written,
// read and summed field by field without a list kept by hand elsewhere.
#pragma once

#include <cstdint>

namespace bench {

struct Counters {
  // Connect phase.
  int subscribed = 0;
  int connect_failures = 0;  // attempts refused, reset or answered non-200
  int gave_up = 0;           // subscribers that exhausted their retries
  // Delivery.
  uint64_t delivered = 0;    // distinct messages received, summed over clients
  uint64_t duplicates = 0;
  uint64_t late = 0;         // arrived after a higher sequence of its channel
  uint64_t gaps = 0;         // runs of missing messages, summed over clients
  uint64_t misrouted = 0;    // a message of another channel
  uint64_t resets = 0;       // "reset" events / answers
  uint64_t disconnects = 0;  // streams the server closed during the run
  uint64_t polls = 0;        // long-poll responses received
  uint64_t poll_reconnects = 0;
  uint64_t ds_reconnects = 0;  // Durable Streams reads resumed from an offset
  uint64_t http_errors = 0;  // unexpected status codes after subscribing
  uint64_t ws_errors = 0;    // WebSocket protocol errors (bad 101, frames)
  uint64_t ws_pongs = 0;     // pings answered
  uint64_t ws_closes = 0;    // close frames from the server
  // Kernel receive timestamps (see Received): deliveries that had one, and
  // those whose stamp fell outside [publish, read], which only a wrong clock
  // conversion could cause.
  uint64_t stamped = 0;
  uint64_t stamps_outside = 0;
  // Publishing.
  uint64_t published = 0;    // requests written
  uint64_t publish_errors = 0;
  // --resume (load_run_resume.cc): streams lost after subscribing, and the
  // reconnects with Last-Event-ID that got a 200 again.
  uint64_t dropped = 0;
  uint64_t resumed = 0;
  uint64_t resume_failures = 0;  // resume attempts refused, reset or non-200
  uint64_t subs_gapped = 0;      // resumed subscribers missing a message
  uint64_t subs_duped = 0;       // resumed subscribers that got one twice
  // Slow subscribers (scenario 8).
  int slow_cut = 0;          // saw EOF or reset when finally read
  uint64_t slow_bytes = 0;
};

// Calls f(name, field) for every field of c, in declaration order; field is
// an int& or a uint64_t&. A new counter must be added here too, or a
// multi-process run would drop it from the merged report.
template <typename C, typename F>
void forEachCounter(C& c, F&& f) {
  f("subscribed", c.subscribed);
  f("connect_failures", c.connect_failures);
  f("gave_up", c.gave_up);
  f("delivered", c.delivered);
  f("duplicates", c.duplicates);
  f("late", c.late);
  f("gaps", c.gaps);
  f("misrouted", c.misrouted);
  f("resets", c.resets);
  f("disconnects", c.disconnects);
  f("polls", c.polls);
  f("poll_reconnects", c.poll_reconnects);
  f("ds_reconnects", c.ds_reconnects);
  f("http_errors", c.http_errors);
  f("ws_errors", c.ws_errors);
  f("ws_pongs", c.ws_pongs);
  f("ws_closes", c.ws_closes);
  f("stamped", c.stamped);
  f("stamps_outside", c.stamps_outside);
  f("published", c.published);
  f("publish_errors", c.publish_errors);
  f("dropped", c.dropped);
  f("resumed", c.resumed);
  f("resume_failures", c.resume_failures);
  f("subs_gapped", c.subs_gapped);
  f("subs_duped", c.subs_duped);
  f("slow_cut", c.slow_cut);
  f("slow_bytes", c.slow_bytes);
}

}  // namespace bench
