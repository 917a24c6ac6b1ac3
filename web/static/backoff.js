// Reconnect delays shared by the transports: exponential, capped, with jitter so
// that every tab of every user does not hit a restarted server in the same
// millisecond.

// attempt: 0 for the first retry. Returns milliseconds.
// "Equal jitter": half the exponential step is kept, so a retry never comes
// sooner than half its step, and the other half is random.
export function backoffDelay(attempt, { baseMs = 500, maxMs = 30000 } = {}) {
  const step = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(step / 2 + Math.random() * (step / 2));
}
