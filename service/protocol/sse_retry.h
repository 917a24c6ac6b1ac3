// The `retry:` each SSE stream is told: a base delay plus a random jitter,
// drawn per connection.
//
// Why: when an instance dies (or restarts), every EventSource it held
// reconnects after the retry: it was given. With one fixed value, all of them
// (16,000 on a full instance) come back in the same millisecond and hit the
// survivors as one burst of connects and history reads. Drawing the delay
// per connection from [base, base + jitter] spreads that burst evenly over
// the jitter window. The long-poll and WebSocket clients of the page are told
// no delay by the server: they draw their own (web/static/backoff.js).
//
// Thread-safety: next() may be called from any thread at once; each thread
// draws from its own generator. Immutable after construction.
#pragma once

namespace rtdemo {
namespace sse {

class RetryDelay {
 public:
  // baseMs >= 0, jitterMs >= 0 (checked by the settings, app/settings.cc).
  RetryDelay(int baseMs, int jitterMs) : baseMs_(baseMs), jitterMs_(jitterMs) {}

  // A delay in [base, base + jitter], uniformly; exactly base when jitter is 0.
  int next() const;

  int baseMs() const { return baseMs_; }
  int jitterMs() const { return jitterMs_; }

 private:
  int baseMs_;
  int jitterMs_;
};

}  // namespace sse
}  // namespace rtdemo
