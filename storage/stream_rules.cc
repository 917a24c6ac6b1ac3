// The shared Durable Streams decisions (see stream_rules.h).
#include "storage/stream_rules.h"

#include "storage/message_id.h"

namespace rtdemo {

const char* streamOutcomeName(StreamOutcome outcome) {
  switch (outcome) {
    case StreamOutcome::kOk: return "ok";
    case StreamOutcome::kExists: return "exists";
    case StreamOutcome::kDuplicate: return "duplicate";
    case StreamOutcome::kNotFound: return "stream not found";
    case StreamOutcome::kConfigConflict: return "stream exists with another configuration";
    case StreamOutcome::kContentTypeMismatch: return "content type does not match the stream's";
    case StreamOutcome::kClosed: return "stream is closed";
    case StreamOutcome::kStreamSeqRegression: return "Stream-Seq is not greater than the last one";
    case StreamOutcome::kStaleEpoch: return "producer epoch is stale";
    case StreamOutcome::kSeqGap: return "producer sequence gap";
    case StreamOutcome::kEpochNotFromZero: return "a new producer epoch must start at seq 0";
    case StreamOutcome::kGone: return "stream was deleted but forks still read it";
    case StreamOutcome::kSourceNotFound: return "fork source not found";
    case StreamOutcome::kSourceGone: return "fork source was deleted but forks still read it";
    case StreamOutcome::kForkPointInvalid: return "fork offset is not in the source's history";
  }
  return "unknown";
}

bool streamExpired(const StreamInfo& info, int64_t nowMs) {
  if (info.config.expiresAtMs > 0 && nowMs >= info.config.expiresAtMs) return true;
  return info.config.ttlSeconds > 0 &&
         nowMs >= info.lastAccessMs + info.config.ttlSeconds * 1000;
}

StreamOutcome decideCreate(const StreamInfo* existing,
                           const StreamConfig& requested) {
  if (existing == nullptr) return StreamOutcome::kOk;
  if (existing->softDeleted) return StreamOutcome::kGone;
  return existing->config == requested && existing->forkedFrom.empty()
             ? StreamOutcome::kExists
             : StreamOutcome::kConfigConflict;
}

StreamOutcome decideFork(const StreamInfo* existing, const StreamConfig& requested,
                         const ForkSpec& fork, const StreamInfo* source) {
  if (existing != nullptr) {
    if (existing->softDeleted) return StreamOutcome::kGone;
    bool same = existing->config == requested && existing->forkedFrom == fork.source &&
                existing->forkSubOffset == fork.subOffset &&
                (!fork.pointGiven || existing->forkPointId == fork.pointId);
    return same ? StreamOutcome::kExists : StreamOutcome::kConfigConflict;
  }
  if (source == nullptr) return StreamOutcome::kSourceNotFound;
  if (source->softDeleted) return StreamOutcome::kSourceGone;
  if (source->config.contentType != requested.contentType)
    return StreamOutcome::kContentTypeMismatch;
  std::optional<MessageId> point = MessageId::parse(fork.pointId);
  std::optional<MessageId> start = MessageId::parse(source->startId);
  std::optional<MessageId> tail = MessageId::parse(source->tailId);
  if (!point || !start || !tail || point->epoch != tail->epoch || *point < *start ||
      *tail < *point)
    return StreamOutcome::kForkPointInvalid;
  return StreamOutcome::kOk;
}

namespace {

// The producer half of decideAppend (PROTOCOL.md 5.2.1, "Validation Logic").
AppendDecision decideProducer(const ProducerClaim& claim,
                              const ProducerState* stored) {
  AppendDecision d;
  d.reportEpoch = claim.epoch;
  if (stored == nullptr || claim.epoch > stored->epoch) {
    // A producer the stream has not seen starts at seq 0 like a new epoch,
    // but a later seq from it is a gap (0 expected), not a bad epoch.
    if (claim.seq != 0) {
      d.outcome = stored == nullptr ? StreamOutcome::kSeqGap
                                    : StreamOutcome::kEpochNotFromZero;
      d.reportSeq = 0;
      return d;
    }
    d.producer = ProducerState{claim.epoch, 0};
    d.reportSeq = 0;
    return d;
  }
  if (claim.epoch < stored->epoch) {
    d.outcome = StreamOutcome::kStaleEpoch;
    d.reportEpoch = stored->epoch;
    d.reportSeq = stored->lastSeq;
    return d;
  }
  if (claim.seq <= stored->lastSeq) {
    d.outcome = StreamOutcome::kDuplicate;
    d.reportSeq = stored->lastSeq;  // the highest accepted, not the request's
    return d;
  }
  if (claim.seq > stored->lastSeq + 1) {
    d.outcome = StreamOutcome::kSeqGap;
    d.reportSeq = stored->lastSeq + 1;
    return d;
  }
  d.producer = ProducerState{claim.epoch, claim.seq};
  d.reportSeq = claim.seq;
  return d;
}

}  // namespace

AppendDecision decideAppend(const StreamInfo& info, const StreamAppend& append,
                            const ProducerState* stored) {
  AppendDecision d;
  if (info.softDeleted) {
    d.outcome = StreamOutcome::kGone;
    return d;
  }
  bool closeOnly = append.close && append.messages.empty();
  if (!closeOnly && append.contentType != info.config.contentType) {
    d.outcome = StreamOutcome::kContentTypeMismatch;
    return d;
  }
  if (append.producer) {
    d = decideProducer(*append.producer, stored);
    if (d.outcome != StreamOutcome::kOk) return d;
  }
  if (info.closed) {
    // Closing a closed stream again, with nothing to add, is idempotent.
    if (!closeOnly) d.outcome = StreamOutcome::kClosed;
    return d;
  }
  if (append.streamSeq && !info.lastStreamSeq.empty() &&
      *append.streamSeq <= info.lastStreamSeq) {
    d.outcome = StreamOutcome::kStreamSeqRegression;
  }
  return d;
}

}  // namespace rtdemo
