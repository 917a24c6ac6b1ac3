// Implementation of DemoTicker (see demo_ticker.h).
#include "service/app/demo_ticker.h"
#include "storage/thread_name.h"

#include "Poco/DateTimeFormatter.h"
#include "Poco/Logger.h"
#include "Poco/Timestamp.h"

namespace rtdemo {

DemoTicker::DemoTicker(Broker* broker, std::string channel, int intervalSeconds,
                       std::atomic<uint64_t>* published)
    : broker_(broker),
      channel_(std::move(channel)),
      intervalSeconds_(intervalSeconds),
      published_(published) {}

DemoTicker::~DemoTicker() { stop(); }

void DemoTicker::start() {
  if (intervalSeconds_ <= 0 || thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
  nameThread(thread_, "rtdemo-ticker");
}

void DemoTicker::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void DemoTicker::run() {
  unsigned long count = 0;
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, std::chrono::seconds(intervalSeconds_),
                       [this] { return stop_; })) {
    lock.unlock();
    std::string data = "Tick #" + std::to_string(++count) + " at " +
                       Poco::DateTimeFormatter::format(Poco::Timestamp(), "%H:%M:%S") +
                       " UTC";
    MessagePtr stored;
    Status s = broker_->publish(channel_, "", data, &stored);
    if (s.ok()) published_->fetch_add(1, std::memory_order_relaxed);
    if (!s.ok())
      Poco::Logger::get("rtdemo").warning("demo ticker could not publish: %s",
                                          s.toString());
    lock.lock();
  }
}

}  // namespace rtdemo
