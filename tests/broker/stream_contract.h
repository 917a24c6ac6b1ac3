// The Broker's Durable Streams contract (storage/stream.h, broker.h), written
// once and run against every backend that stores streams, like the Broker
// contract (broker_contract.h) it extends. Each backend's test file
// instantiates StreamContractTest; the backends whose clock a test can set
// (memory, SQLite) also instantiate StreamClockTest, for TTL and expiry.
#pragma once

#include <string>
#include <vector>

#include "tests/broker/broker_contract.h"

namespace rtdemo {

class StreamContractTest : public BrokerContractTest {
 protected:
  // createStream() with `contentType` and `initial` messages; expects OK.
  StreamResult create(const std::string& channel,
                      const std::string& contentType = "text/plain",
                      const std::vector<std::string>& initial = {});
  // appendStream() with `messages` of the stream's default content type
  // ("text/plain") and the rest of `a` as given; expects OK.
  StreamResult append(const std::string& channel, StreamAppend a);
  StreamResult append(const std::string& channel,
                      const std::vector<std::string>& messages);
  StreamResult appendAs(const std::string& channel, const std::string& producer,
                        int64_t epoch, int64_t seq, const std::string& data);
  // The data of every message readable from the stream's start, in order
  // (a fork's inherited messages first: storage/stream_read.h).
  std::vector<std::string> contents(const std::string& channel);
  StreamInfo info(const std::string& channel);
  bool exists(const std::string& channel);
};

class StreamClockTest : public StreamContractTest {
 protected:
  void SetUp() override;  // opens with clock_ as the backend's clock
};

// Forks and soft delete (Broker::createFork; stream_contract_forks.cc),
// instantiated by the backends that have them (memory, SQLite), so that a
// backend with streams but no forks yet can run StreamContractTest alone.
class StreamForkTest : public StreamContractTest {
 protected:
  // createFork() of `source` at `pointId` ("" for the source's tail), with
  // the source's content type unless `contentType` is given; expects OK.
  StreamResult fork(const std::string& channel, const std::string& source,
                    const std::string& pointId = "",
                    const std::vector<std::string>& initial = {},
                    const std::string& contentType = "text/plain");
  StreamResult remove(const std::string& channel);
};

class StreamForkClockTest : public StreamForkTest {
 protected:
  void SetUp() override;  // opens with clock_ as the backend's clock
};

}  // namespace rtdemo
