// DemoTicker: publishes a message to the demo channel every few seconds, so a
// newcomer who opens the page sees messages arrive without sending any (as the
// original Flask demo did). rtdemo.demo.interval.seconds = 0 turns it off.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "storage/broker.h"

namespace rtdemo {

class DemoTicker {
 public:
  // `broker` must outlive the ticker; so must `published`, which counts the
  // messages stored (for /metrics).
  DemoTicker(Broker* broker, std::string channel, int intervalSeconds,
             std::atomic<uint64_t>* published);
  ~DemoTicker();

  void start();
  void stop();

 private:
  void run();

  Broker* const broker_;
  const std::string channel_;
  const int intervalSeconds_;
  std::atomic<uint64_t>* const published_;
  std::thread thread_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
};

}  // namespace rtdemo
