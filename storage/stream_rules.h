// The Durable Streams decisions every backend makes the same way: whether a
// stream has expired, what a create finds, and whether an append is new data,
// a duplicate, or refused (docs/durable-streams.md).
//
// Pure functions of the stored state and the request, so that the memory and
// SQLite backends call the one definition inside their own commit, and the
// Redis script (redis_stream_scripts.cc) can be checked against it case by
// case by the contract suite.
//
// Thread-safe: no state.
#pragma once

#include <cstdint>

#include "storage/stream.h"

namespace rtdemo {

// A short English name for logs and error bodies ("stream is closed").
const char* streamOutcomeName(StreamOutcome outcome);

// True once the stream's expiry has passed, or its TTL has run out since it
// was last touched.
bool streamExpired(const StreamInfo& info, int64_t nowMs);

// A create of a stream that `existing` names (nullptr: none, or expired):
// kOk to create it, kExists when it is there with `requested`'s
// configuration (and is no fork), kGone when it is soft-deleted (the name
// cannot be reused while forks read through it), kConfigConflict otherwise.
StreamOutcome decideCreate(const StreamInfo* existing,
                           const StreamConfig& requested);

// A create of a fork (Broker::createFork) at a name that `existing` names
// (as for decideCreate), from `source` (nullptr: none, or expired; its
// tailId filled in). With an existing stream: kExists when it is a fork of
// the same source with the same configuration, sub-offset and (when the
// request named one) fork point, else kGone or kConfigConflict as for
// decideCreate. Otherwise: kSourceNotFound, kSourceGone (soft-deleted),
// kContentTypeMismatch (the fork's type is not the source's), or
// kForkPointInvalid (not an id of this epoch between the source's start
// and its tail); kOk to create it.
StreamOutcome decideFork(const StreamInfo* existing, const StreamConfig& requested,
                         const ForkSpec& fork, const StreamInfo* source);

struct AppendDecision {
  StreamOutcome outcome = StreamOutcome::kOk;
  // With a claim: the producer's state to store when outcome is kOk, and
  // what StreamResult::producerEpoch/producerSeq report (stream.h).
  ProducerState producer;
  int64_t reportEpoch = 0;
  int64_t reportSeq = 0;
};

// An append to the live stream `info`. `stored` is the state kept for the
// claim's producer id (nullptr: none yet, or no claim). The order of the
// checks is the protocol's: soft-deleted (kGone), content type, then the producer (so that a
// retried closing append is still a duplicate, and a fenced zombie hears
// 403 even on a closed stream), then closure, then Stream-Seq.
AppendDecision decideAppend(const StreamInfo& info, const StreamAppend& append,
                            const ProducerState* stored);

}  // namespace rtdemo
