// BatchSender on real sockets and a real io_uring: every queued send is
// reported once with what send(MSG_DONTWAIT) would have returned, a full
// socket answers at once instead of waiting, and OutBuffer::settle() keeps
// what a short send left over. io_uring must be available here: a machine
// without it fails these tests rather than skipping them, since rtdemo's
// fan-out would then never use this code.
#include "service/hub/batch_sender.h"

#include <errno.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "service/hub/out_buffer.h"

namespace rtdemo {
namespace {

struct Pair {
  int ours = -1;    // the server's end
  int theirs = -1;  // the subscriber's end
  explicit Pair(int sndbuf = 0) {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    ours = fds[0];
    theirs = fds[1];
    if (sndbuf > 0) ::setsockopt(ours, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  }
  ~Pair() {
    if (ours >= 0) ::close(ours);
    if (theirs >= 0) ::close(theirs);
  }
  std::string readAll() const {
    std::string out;
    char buf[65536];
    for (;;) {
      ssize_t n = ::recv(theirs, buf, sizeof buf, MSG_DONTWAIT);
      if (n <= 0) return out;
      out.append(buf, static_cast<size_t>(n));
    }
  }
};

std::unique_ptr<BatchSender> openOrFail(unsigned entries) {
  std::string why;
  auto sender = BatchSender::open(entries, &why);
  EXPECT_NE(sender, nullptr) << "io_uring unavailable: " << why;
  return sender;
}

// Fills `fd`'s send buffer; returns the bytes it took.
size_t fill(int fd) {
  std::string chunk(65536, 'f');
  size_t total = 0;
  for (;;) {
    ssize_t n = ::send(fd, chunk.data(), chunk.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n <= 0) return total;
    total += static_cast<size_t>(n);
  }
}

TEST(BatchSender, EverySendIsMadeAndReportedOnce) {
  auto sender = openOrFail(8);
  ASSERT_NE(sender, nullptr);
  std::vector<std::unique_ptr<Pair>> pairs;
  std::vector<std::string> payloads;
  for (int i = 0; i < 6; ++i) {
    pairs.push_back(std::make_unique<Pair>());
    payloads.push_back("data: event for subscriber " + std::to_string(i) + "\n\n");
  }
  for (int i = 0; i < 6; ++i) sender->add(pairs[i]->ours, payloads[i], 100 + i);
  EXPECT_FALSE(sender->empty());

  std::map<uint64_t, int> results;
  sender->submit([&](uint64_t tag, int result) {
    EXPECT_EQ(results.count(tag), 0u) << "tag " << tag << " reported twice";
    results[tag] = result;
  });
  EXPECT_TRUE(sender->empty());
  EXPECT_TRUE(sender->usable());
  ASSERT_EQ(results.size(), 6u);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(results[100 + i], static_cast<int>(payloads[i].size()));
    EXPECT_EQ(pairs[i]->readAll(), payloads[i]);
  }
}

TEST(BatchSender, FullIsReachedAtItsSize) {
  auto sender = openOrFail(4);
  ASSERT_NE(sender, nullptr);
  Pair p;
  std::string bytes = "x";
  for (int i = 0; i < 4; ++i) {
    EXPECT_FALSE(sender->full());
    sender->add(p.ours, bytes, i);
  }
  EXPECT_TRUE(sender->full());
  int reported = 0;
  sender->submit([&](uint64_t, int result) {
    EXPECT_EQ(result, 1);
    ++reported;
  });
  EXPECT_EQ(reported, 4);
  // Sends to one socket in one batch arrive in the order they were queued.
  EXPECT_EQ(p.readAll(), "xxxx");
}

TEST(BatchSender, AFullSocketAnswersAtOnceAndOthersStillGetTheirs) {
  auto sender = openOrFail(8);
  ASSERT_NE(sender, nullptr);
  Pair full(4096), healthy;
  ASSERT_GT(fill(full.ours), 0u);
  const std::string event = "data: after the buffer filled\n\n";
  sender->add(full.ours, event, 1);
  sender->add(healthy.ours, event, 2);

  std::map<uint64_t, int> results;
  auto start = std::chrono::steady_clock::now();
  sender->submit([&](uint64_t tag, int result) { results[tag] = result; });
  // A send that waited for room would hang here until the test times out.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[1], -EAGAIN);
  EXPECT_EQ(results[2], static_cast<int>(event.size()));
  EXPECT_EQ(healthy.readAll(), event);
}

TEST(BatchSender, AGonePeerIsAnErrorNotASignal) {
  auto sender = openOrFail(8);
  ASSERT_NE(sender, nullptr);
  Pair gone;
  ::close(gone.theirs);
  gone.theirs = -1;
  const std::string event = "data: nobody reads this\n\n";
  sender->add(gone.ours, event, 7);
  int got = 0;
  // SIGPIPE would end the test binary here.
  sender->submit([&](uint64_t tag, int result) {
    EXPECT_EQ(tag, 7u);
    got = result;
  });
  EXPECT_EQ(got, -EPIPE);
}

TEST(OutBufferSettle, KeepsWhatAShortSendLeft) {
  Pair p;
  auto data = std::make_shared<const std::string>("0123456789");
  OutBuffer out;
  EXPECT_EQ(out.settle(data, 4), OutBuffer::Result::kBlocked);
  EXPECT_EQ(out.bytes(), 6u);
  EXPECT_EQ(out.flush(p.ours), OutBuffer::Result::kDone);
  EXPECT_EQ(p.readAll(), "456789");  // the first 4 bytes went out with the send
  EXPECT_TRUE(out.empty());
}

TEST(OutBufferSettle, FullSocketQueuesEverythingAndErrorsQueueNothing) {
  auto data = std::make_shared<const std::string>("abc");
  OutBuffer blocked;
  EXPECT_EQ(blocked.settle(data, -EAGAIN), OutBuffer::Result::kBlocked);
  EXPECT_EQ(blocked.bytes(), 3u);

  OutBuffer done;
  EXPECT_EQ(done.settle(data, 3), OutBuffer::Result::kDone);
  EXPECT_TRUE(done.empty());

  OutBuffer broken;
  EXPECT_EQ(broken.settle(data, -ECONNRESET), OutBuffer::Result::kError);
  EXPECT_TRUE(broken.empty());
}

}  // namespace
}  // namespace rtdemo
