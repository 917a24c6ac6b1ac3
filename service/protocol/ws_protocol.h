// The JSON messages of rtdemo's WebSocket transport (docs/protocol.md).
//
// Client to server: subscribe {channel, last_id}, unsubscribe {channel},
// publish {channel, event, data} or, a batch, publish {messages: [{channel,
// event, data}, ...]} (send_batch.h: the array form of POST /send, its
// limits, all or nothing); each may carry a "ref" that the answer
// echoes, so a client can match answers to requests.
// Server to client: message, heartbeat, reset, subscribed, unsubscribed, ack
// and error. Parsing and encoding live here, away from sockets, so they can
// be unit-tested.
#pragma once

#include <string>
#include <vector>

#include "service/protocol/send_batch.h"
#include "storage/message.h"

namespace rtdemo {
namespace wsproto {

struct Command {
  enum class Type { kSubscribe, kUnsubscribe, kPublish };
  Type type = Type::kSubscribe;
  std::string channel;
  std::string lastId;  // subscribe: resume after this id; empty = live only
  std::string event;   // publish
  std::string data;    // publish
  std::string ref;     // echoed in the answer, if given
  int errorStatus = 400;  // with a parse failure: 413 for data over the limit
  // A publish with "messages": every element, in order (channel, event and
  // data above are then unused). batch.batch says which form it was.
  SendBatch batch;
  long errorIndex = -1;  // with a parse failure: the element it is about
};

// Parses one text message. On error returns false with a reason fit for an
// error message to the client; *out may be partly filled (its ref is kept
// so the error can carry it).
bool parseCommand(const std::string& text, const SendLimits& limits, Command* out,
                  std::string* error);
// The same with the default batch limits (SendLimits).
bool parseCommand(const std::string& text, size_t maxDataBytes, Command* out,
                  std::string* error);

// Server messages (JSON text, not yet framed).
std::string encodeMessage(const Message& m);
std::string encodeHeartbeat(int64_t nowMs);
std::string encodeReset(const std::string& channel, const std::string& oldest,
                        const std::string& reason);
std::string encodeSubscribed(const std::string& channel, const std::string& ref);
std::string encodeUnsubscribed(const std::string& channel, const std::string& ref);
std::string encodeAck(const Message& stored, const std::string& ref);
// {"type":"ack","messages":[{"id","channel"}, ...],"ref"}: a batch, in order.
std::string encodeBatchAck(const std::vector<MessagePtr>& stored, const std::string& ref);
// `index` >= 0: the element of a batch the error is about ("index").
std::string encodeError(const std::string& error, const std::string& ref,
                        int status = 400, long index = -1);
// {"type":"expired","channel","status":401,"error"}: the token that allowed
// this private channel has expired and the subscription has ended. The
// client reconnects with a fresh token and resumes from its last id.
std::string encodeExpired(const std::string& channel);

}  // namespace wsproto
}  // namespace rtdemo
