// Implementation of publishSend (see send_publish.h).
#include "service/http/send_publish.h"

#include <chrono>
#include <memory>
#include <unordered_set>

#include "Poco/Logger.h"
#include "service/protocol/http_status.h"
#include "service/protocol/json_writer.h"

namespace rtdemo {
namespace {

SendAnswer errorAnswer(int status, const std::string& error, long index) {
  JsonWriter json;
  json.beginObject();
  json.key("error");
  json.string(error);
  if (index >= 0) {
    json.key("index");
    json.number(index);
  }
  json.endObject();
  SendAnswer a;
  a.status = status;
  a.json = json.take();
  return a;
}

// The first element whose channel the rules refuse, answered; nullopt-like
// status 0 when every element may be published.
SendAnswer authorizeAll(ServiceContext& ctx, const SendAuth& auth, const SendBatch& batch) {
  // Each distinct channel once: a batch of a thousand to one channel is one
  // check, and its refusal names the first element that asked for it.
  std::unordered_set<std::string> allowed;
  for (size_t i = 0; i < batch.messages.size(); ++i) {
    const std::string& channel = batch.messages[i].channel;
    if (allowed.count(channel)) continue;
    Verdict v = ctx.requestSecurity->checkSendChannel(auth, channel);
    if (!v.ok()) {
      SendAnswer a = errorAnswer(v.status, batch.batch ? "message " + std::to_string(i) +
                                                             ": " + v.error
                                                       : v.error,
                                 batch.batch ? static_cast<long>(i) : -1);
      a.headers = RequestSecurity::refusalHeaders(v);
      // As authorizeSend(): a refused client reconnecting costs little.
      a.close = true;
      return a;
    }
    allowed.insert(channel);
  }
  return SendAnswer{};
}

// The backend's verdict on a publish that was not stored, counted and
// logged once per request.
SendAnswer backendFailure(ServiceContext& ctx, const Status& s, const SendAuth& auth,
                          const std::string& channel) {
  // A closed Durable Stream refuses /send: the client's error, not the
  // backend's.
  if (s.code() == Status::Code::kConflict) return errorAnswer(409, s.message(), -1);
  ctx.sends.backendErrors++;
  int code = httpStatusFor(s);
  (code == 503 ? ctx.sends.unavailable : code == 400 ? ctx.sends.badRequest : ctx.sends.failed)++;
  Poco::Logger::get("rtdemo").warning("publish to channel %s from %s failed: %s", channel,
                                      auth.address, s.toString());
  SendAnswer a = errorAnswer(code, s.toString(), -1);
  if (code == 503) a.headers.emplace_back("Retry-After", "1");
  return a;
}

}  // namespace

SendLimits sendLimitsOf(const HandlerSettings& settings) {
  SendLimits limits;
  limits.maxDataBytes = settings.sendMaxBytes;
  limits.maxMessages = settings.batchMaxMessages;
  limits.maxBatchBytes = settings.batchMaxBytes;
  return limits;
}

void publishSend(ServiceContext& ctx, const SendAuth& auth, const std::string& contentType,
                 const std::string& body, SendAnswerDone done) {
  SendBatch batch;
  SendBatchParse parsed = parseSendBatch(contentType, body, sendLimitsOf(ctx.settings), &batch);
  if (parsed.status != 0) {
    (parsed.status == 413 ? ctx.sends.tooLarge : ctx.sends.badRequest)++;
    done(errorAnswer(parsed.status, parsed.error, parsed.index));
    return;
  }
  SendAnswer refused = authorizeAll(ctx, auth, batch);
  if (refused.status != 0) {
    done(std::move(refused));
    return;
  }

  const auto started = std::chrono::steady_clock::now();
  ServiceContext* c = &ctx;
  const std::string firstChannel = batch.messages.front().channel;
  if (!batch.batch) {
    SendRequest& m = batch.messages.front();
    c->broker->publishAsync(
        std::move(m.channel), std::move(m.event), std::move(m.data),
        [c, auth, firstChannel, started, done = std::move(done)](const Status& s,
                                                                 const MessagePtr& stored) {
          // Failed publishes count too: a Redis timeout is latency a
          // publisher felt.
          c->publishLatency.observe(std::chrono::steady_clock::now() - started);
          if (!s.ok()) {
            done(backendFailure(*c, s, auth, firstChannel));
            return;
          }
          c->sends.created++;
          c->sends.messages++;
          JsonWriter json;
          json.beginObject();
          json.key("id");
          json.string(stored->idText);
          json.key("channel");
          json.string(stored->channel);
          json.endObject();
          done(SendAnswer{201, json.take(), {}, false});
        });
    return;
  }

  std::vector<PublishItem> items;
  items.reserve(batch.messages.size());
  for (SendRequest& m : batch.messages)
    items.push_back(PublishItem{std::move(m.channel), std::move(m.event), std::move(m.data)});
  c->broker->publishBatchAsync(
      std::move(items), [c, auth, firstChannel, started, done = std::move(done)](
                            const Status& s, const std::vector<MessagePtr>& stored) {
        c->publishLatency.observe(std::chrono::steady_clock::now() - started);
        if (!s.ok()) {
          done(backendFailure(*c, s, auth, firstChannel));
          return;
        }
        c->sends.created++;
        c->sends.messages += stored.size();
        JsonWriter json;
        json.beginObject();
        writeStoredMessages(&json, stored);
        json.endObject();
        done(SendAnswer{201, json.take(), {}, false});
      });
}

}  // namespace rtdemo
