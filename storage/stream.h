// Streams: what the Broker keeps for a channel that is a Durable Stream
// (docs/durable-streams.md), and the requests and answers of its stream
// operations (Broker::createStream, appendStream, streamInfo, touchStream,
// deleteStream).
//
// A stream is a channel with metadata: its configuration, whether it is
// closed, the id its history starts after, and per-producer state. The
// messages are the channel's own, stored and delivered like any publish.
// Header-only types, part of the model every layer may include
// (scripts/layering_check.sh). These types carry no HTTP: the transport (service/streams/) parses headers
// into them and renders the outcomes as status codes.
//
// Protocol refusals (a stale producer epoch, a closed stream, a different
// configuration) are outcomes, not errors: the Broker call returns OK and
// says what it decided in StreamResult::outcome. A Status that is not OK
// means the backend could not decide (Redis away, disk full), and then
// nothing changed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storage/message.h"

namespace rtdemo {

// What PUT configures; two PUTs with equal configurations are the same
// create (idempotent), and a different one is a conflict.
struct StreamConfig {
  // As the creator sent it; compared as given, so the caller normalises it
  // (lower case, parameters trimmed) before it gets here.
  std::string contentType = "application/octet-stream";
  // Idle timeout in seconds, restarted by every append and read
  // (touchStream()); 0: none.
  int64_t ttlSeconds = 0;
  // Absolute expiry, milliseconds since 1970; 0: none. At most one of
  // ttlSeconds and expiresAtMs is set (the caller refuses both).
  int64_t expiresAtMs = 0;

  bool operator==(const StreamConfig& o) const {
    return contentType == o.contentType && ttlSeconds == o.ttlSeconds &&
           expiresAtMs == o.expiresAtMs;
  }
  bool operator!=(const StreamConfig& o) const { return !(*this == o); }
};

// An idempotent producer's claim on one append (Producer-Id, -Epoch, -Seq).
// REQUIRES: id non-empty; epoch and seq in [0, 2^53-1].
struct ProducerClaim {
  std::string id;
  int64_t epoch = 0;
  int64_t seq = 0;
};

// What the stream remembers of one producer.
struct ProducerState {
  int64_t epoch = 0;
  int64_t lastSeq = 0;  // the highest seq accepted in `epoch`
};

// PUT with Stream-Forked-From (Broker::createFork): where a fork starts.
// The fork reads the source's history up to `pointId`, then its own
// messages (docs/durable-streams.md, "Forks").
struct ForkSpec {
  std::string source;  // the source stream's channel
  // An id of the source's history ("<epoch>-<n>"), at most its tail: the
  // last position the fork inherits. The source's tail when the request
  // named no Stream-Fork-Offset.
  std::string pointId;
  bool pointGiven = false;  // Stream-Fork-Offset was sent (re-creates compare it)
  // Stream-Fork-Sub-Offset; what it names is already in the create's
  // initial messages (materialised by the caller), this is kept to compare.
  int64_t subOffset = 0;
};

// One append: zero or more messages, and optionally the close.
struct StreamAppend {
  // Stored as one message each, in order, in one commit. Empty only when
  // `close` is set (a close-only append) or for a create with no body.
  std::vector<std::string> messages;
  // The event type stored with each message: "" for text and JSON streams,
  // "binary" for the others (docs/durable-streams.md, "Messages and bytes").
  std::string event;
  // The request's content type, as normalised as StreamConfig's; it must
  // equal the stream's unless the append is close-only.
  std::string contentType;
  std::optional<std::string> streamSeq;   // Stream-Seq
  std::optional<ProducerClaim> producer;  // Producer-Id/-Epoch/-Seq
  bool close = false;                     // Stream-Closed: true
};

enum class StreamOutcome {
  kOk,                   // created, appended, closed or deleted
  kExists,               // create: already there with the same config
  kDuplicate,            // append: this producer's seq was accepted before
  kNotFound,             // no such stream (or it expired)
  kConfigConflict,       // create: there with another configuration
  kContentTypeMismatch,  // append: not the stream's content type
  kClosed,               // append: the stream is closed
  kStreamSeqRegression,  // append: Stream-Seq not greater than the last
  kStaleEpoch,           // append: the producer's epoch is older (fenced)
  kSeqGap,               // append: the producer skipped a seq
  kEpochNotFromZero,     // append: a new producer epoch whose seq is not 0
  kGone,                 // deleted (or expired) but kept for its forks: 410
  kSourceNotFound,       // fork: the source does not exist (or expired)
  kSourceGone,           // fork: the source is soft-deleted
  kForkPointInvalid,     // fork: the fork point is not in the source's history
};

// What streamInfo() answers about a stream that exists.
struct StreamInfo {
  StreamConfig config;
  bool closed = false;
  // The cursor before the stream's first message: "<epoch>-<n>". Offsets
  // below it (history from before a delete and re-create) are gone.
  std::string startId;
  // The id of its newest message, or startId when it has none.
  std::string tailId;
  int64_t createdMs = 0;
  int64_t lastAccessMs = 0;  // the TTL runs from here
  std::string lastStreamSeq;  // "" when no append carried one
  // Deleted, or expired, while forks still read through it: every
  // operation on it answers 410 (kGone), until its last fork goes.
  bool softDeleted = false;
  int64_t forks = 0;  // live forks whose source this stream is
  // A fork's origin ("" unless forked): its source's channel, the last id
  // of the source's history it inherits (ForkSpec::pointId), and the cursor
  // before its own messages (>= forkPointId; the channel's last sequence
  // at creation). A fork's startId is its source's.
  std::string forkedFrom;
  std::string forkPointId;
  std::string ownStartId;
  bool forkPointGiven = false;
  int64_t forkSubOffset = 0;
};

// The answer of every stream operation.
struct StreamResult {
  StreamOutcome outcome = StreamOutcome::kOk;
  // What this call stored, in id order (empty unless kOk).
  std::vector<MessagePtr> stored;
  // The stream's tail after the call (its newest id, or its startId); set
  // for every outcome but kNotFound.
  std::string tailId;
  bool closed = false;  // the stream is closed after the call
  // With a producer claim: on kOk and kDuplicate, the claim's epoch and the
  // highest seq accepted in it; on kStaleEpoch, the stream's current epoch
  // for this producer; on kSeqGap, producerSeq is the seq it expected next.
  int64_t producerEpoch = 0;
  int64_t producerSeq = 0;
};

}  // namespace rtdemo
