// SqliteBroker's writer thread (sqlite_broker_impl.h): the loop that takes
// what is queued, one transaction per group (group commit), each row and
// stream operation stored in it, and the maintenance step that trims by age,
// count and the global cap when publishes pause. Writer thread only.
#include <algorithm>
#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "storage/sqlite_broker_impl.h"

namespace rtdemo {
namespace sqlite_detail {

void SqliteBroker::writerLoop() {
  auto nextMaintenance = std::chrono::steady_clock::now() + kMaintenanceEvery;
  std::vector<Pending> batch;
  for (;;) {
    batch.clear();
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (!maintenanceBacklog()) {
        writerIdle_ = true;
        writerCv_.wait_until(lock, nextMaintenance,
                             [&] { return !queue_.empty() || stopping_; });
        writerIdle_ = false;
      }
      if (queue_.empty() && stopping_) return;
      // Whole Pendings, at least one, up to kMaxBatch messages.
      size_t messages = 0;
      while (!queue_.empty() &&
             (batch.empty() ||
              messages + queue_.front().items.size() <= kMaxBatch)) {
        messages += queue_.front().items.size();
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    if (!batch.empty()) commitBatch(batch);
    auto t = std::chrono::steady_clock::now();
    // Publishes come first; maintenance runs when they pause, and at least
    // once per kMaintenanceEvery even when they never do.
    if ((batch.empty() && maintenanceBacklog()) || t >= nextMaintenance) {
      maintain();
      nextMaintenance = t + kMaintenanceEvery;
    }
  }
}

void SqliteBroker::commitBatch(std::vector<Pending>& batch) {
  std::vector<MessagePtr> stored;
  stored.reserve(batch.size());
  // Where each Pending's messages start in `stored`.
  std::vector<size_t> firsts;
  firsts.reserve(batch.size());
  Status result;
  // A publish refused by a closed stream, by its place in `batch`; it
  // stored nothing, and the rest of the group commits.
  std::vector<Status> refused(batch.size());
  std::vector<ChannelState*> touched;
  try {
    *db_ << "BEGIN IMMEDIATE", now;
    std::vector<std::string> over = channels_.ensureLoaded();
    trimBacklog_.insert(over.begin(), over.end());
    bTs_ = clock_->nowMs();
    for (size_t i = 0; i < batch.size(); ++i) {
      Pending& p = batch[i];
      firsts.push_back(stored.size());
      if (p.op != nullptr) {
        runStreamOpLocked(p.items.front().channel, p.op);
        for (MessagePtr& m : batchStored_) stored.push_back(std::move(m));
        batchStored_.clear();
        continue;
      }
      refused[i] = refuseClosed(p);
      if (!refused[i].ok()) continue;
      // Moved, not copied: a failed group is completed, never retried,
      // so nothing reads the item again.
      for (PublishItem& item : p.items) {
        ChannelState& ch = channels_.publishedTo(item.channel);
        stored.push_back(storeRow(&ch, std::move(item.channel),
                                  std::move(item.event),
                                  std::move(item.data)));
      }
    }
    touched.swap(batchTouched_);
    for (ChannelState* ch : touched) {
      bChannel_ = ch->id;
      bSeq_ = ch->lastSeq;
      updateLast_.execute();
      if (channels_.trimCount(ch)) trimBacklog_.insert(*ch->name);
    }
    // The channels of this batch are spared: a publish never evicts the
    // history it just wrote (history_cap.h).
    if (channels_.enforceCap(touched)) capBacklog_ = true;
    for (ChannelState* ch : touched) ch->touched = false;
    *db_ << "COMMIT", now;
  } catch (const Poco::Exception& e) {
    result =
        Status::Unavailable(sqliteStatus(e, "storing the message").message());
  } catch (const std::exception& e) {
    // bad_alloc and the like: the publishers must still get an answer.
    result =
        Status::Unavailable(std::string("storing the message: ") + e.what());
  }
  for (ChannelState* ch : batchTouched_) ch->touched = false;
  batchTouched_.clear();
  batchStored_.clear();
  if (!result.ok()) {
    rollbackQuietly(*db_);
    // The index may now be ahead of the file; it reloads before its next
    // use. (If COMMIT failed after the data reached the WAL, the reload
    // picks up the stored sequences, so no id is ever issued twice.)
    channels_.invalidate();
    stored.clear();
  } else {
    publishStats();
  }
  for (const MessagePtr& m : stored) live_.deliver(m);
  {
    std::lock_guard<std::mutex> lock(mu_);
    lastWrite_ = result;
  }
  // In queue order, so a channel's completions run in id order.
  for (size_t i = 0; i < batch.size(); ++i) {
    const Status& s = result.ok() ? refused[i] : result;
    complete(&batch[i], s, s.ok() ? stored.cbegin() + firsts[i] : stored.cend());
  }
}

Status SqliteBroker::refuseClosed(const Pending& p) {
  if (maybeClosed_.empty()) return Status::OK();
  for (const PublishItem& item : p.items) {
    if (maybeClosed_.count(item.channel) == 0) continue;
    if (streams_.refusesPublish(item.channel, bTs_, touchedMs(item.channel)))
      return Status::Conflict("stream " + item.channel + " is closed");
  }
  return Status::OK();
}

MessagePtr SqliteBroker::storeRow(ChannelState* ch, std::string channel, std::string event,
                    std::string data) {
  if (!ch->touched) {
    ch->touched = true;
    batchTouched_.push_back(ch);
  }
  auto m = std::make_shared<Message>();
  m->channel = std::move(channel);
  m->id = MessageId{epoch_, uint64_t(ch->lastSeq + 1), 0};
  m->idText = m->id.toString();
  m->event = std::move(event);
  m->data = std::move(data);
  m->tsMs = bTs_;
  bChannel_ = ch->id;
  bSeq_ = ch->lastSeq + 1;
  bEvent_ = m->event;
  // Lend the message's data to the bound parameter instead of copying
  // a payload of up to rtdemo.send.max-bytes a second time.
  bData_.swap(m->data);
  try {
    insert_.execute();
  } catch (...) {
    bData_.swap(m->data);
    throw;
  }
  bData_.swap(m->data);
  ch->lastSeq += 1;
  channels_.added(ch, messageCost(m->event.size(), m->data.size()));
  return m;
}

void SqliteBroker::runStreamOpLocked(const std::string& channel, StreamOp* op) {
  int64_t touched = touchedMs(channel);
  switch (op->kind) {
    case StreamOp::kCreate:
      streams_.create(channel, *op->config, *op->request, bTs_, touched, op->result);
      break;
    case StreamOp::kFork:
      streams_.createFork(channel, *op->config, *op->fork, *op->request, bTs_,
                          [this](const std::string& c) { return touchedMs(c); }, op->result);
      break;
    case StreamOp::kAppend:
      streams_.append(channel, *op->request, bTs_, touched, op->result);
      break;
    case StreamOp::kDelete:
      streams_.remove(channel, bTs_, touched, op->result);
      break;
  }
  batchStored_ = op->result->stored;
  if (op->result->closed) maybeClosed_.insert(channel);
}

void SqliteBroker::maintain() {
  if (maxAgeMs_ <= 0 && trimBacklog_.empty() && !capBacklog_) return;
  try {
    *db_ << "BEGIN IMMEDIATE", now;
    std::vector<std::string> over = channels_.ensureLoaded();
    trimBacklog_.insert(over.begin(), over.end());
    // Deleting by age walks store order and stops at the first row still
    // inside max-age, even when later rows carry older stamps (a clock
    // stepped back): see sqlite_reader.h.
    ageBacklog_ = maxAgeMs_ > 0 && channels_.trimAge(clock_->nowMs() - maxAgeMs_);
    size_t n = 0;
    for (auto it = trimBacklog_.begin();
         it != trimBacklog_.end() && n < kTrimChannelsPerStep; ++n) {
      ChannelState* ch = channels_.find(*it);
      if (ch != nullptr && channels_.trimCount(ch)) {
        ++it;
      } else {
        it = trimBacklog_.erase(it);
      }
    }
    capBacklog_ = channels_.enforceCapIdle();
    *db_ << "COMMIT", now;
    publishStats();
  } catch (const Poco::Exception& e) {
    rollbackQuietly(*db_);
    channels_.invalidate();
    ageBacklog_ = false;
    Poco::Logger::get("rtdemo").warning(
        "sqlite: trimming history failed, will retry: %s",
        sqliteStatus(e, "trimming").message());
  }
}

}  // namespace sqlite_detail
}  // namespace rtdemo
