// Implementation of PrefixedSocketImpl (see prefixed_socket.h).
#include "service/hub/prefixed_socket.h"

#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace rtdemo {

PrefixedSocketImpl::PrefixedSocketImpl(Poco::Net::StreamSocketImpl* inner, std::string prefix)
    : Poco::Net::StreamSocketImpl(inner->sockfd()), inner_(inner), prefix_(std::move(prefix)) {
  inner_->duplicate();
}

PrefixedSocketImpl::~PrefixedSocketImpl() {
  // The descriptor is the wrapped impl's: forget it without closing it.
  reset();
  inner_->release();
}

int PrefixedSocketImpl::receiveBytes(void* buffer, int length, int flags) {
  if (next_ < prefix_.size() && length > 0) {
    size_t n = std::min(prefix_.size() - next_, static_cast<size_t>(length));
    std::memcpy(buffer, prefix_.data() + next_, n);
    if (!(flags & MSG_PEEK)) next_ += n;
    if (next_ == prefix_.size()) {
      prefix_.clear();
      prefix_.shrink_to_fit();
      next_ = 0;
    }
    return static_cast<int>(n);
  }
  return Poco::Net::StreamSocketImpl::receiveBytes(buffer, length, flags);
}

int PrefixedSocketImpl::available() {
  return static_cast<int>(prefix_.size() - next_) + Poco::Net::StreamSocketImpl::available();
}

bool PrefixedSocketImpl::poll(const Poco::Timespan& timeout, int mode) {
  if ((mode & SELECT_READ) && next_ < prefix_.size()) return true;
  return Poco::Net::StreamSocketImpl::poll(timeout, mode);
}

void PrefixedSocketImpl::close() {
  inner_->close();
  reset();
}

}  // namespace rtdemo
