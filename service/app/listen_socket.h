// rtdemo's listening socket, and systemd's file-descriptor store that keeps
// it open across restarts.
//
// Without help, `systemctl restart rtdemo` closes the port for a moment: the
// old process closes its socket at SIGTERM and the new one binds a fresh one,
// and a client connecting in between (every browser reconnecting, a
// publisher) is refused, and connections still in the old socket's accept
// queue are reset. With FileDescriptorStoreMax= in the unit, rtdemo hands
// its listening socket to systemd once it listens (FDSTORE=1,
// FDNAME=listen); systemd holds a copy while rtdemo stops and starts again
// and passes it to the next rtdemo (LISTEN_FDS, LISTEN_FDNAMES). The socket
// never closes, so such a client waits in the kernel's accept queue and is
// served by the next instance. systemd keeps the store across a restart
// (systemctl restart, or Restart= after a crash), not across a stop.
//
// Outside systemd (no NOTIFY_SOCKET, no LISTEN_FDS) rtdemo binds its port as
// it always did. The address stays rtdemo.bind and rtdemo.port: a stored
// socket on another address (the configuration changed) is closed, dropped
// from the store (FDSTOREREMOVE=1), and a new one is bound and stored.
//
// Thread-safety: call these from the main thread at start, before any
// other thread runs (sd_listen_fds unsets LISTEN_FDS in the environment).
#pragma once

#include <string>

#include "Poco/Net/ServerSocket.h"

namespace rtdemo {

struct Listener {
  Poco::Net::ServerSocket socket;
  // True when the socket came from systemd's store: it has listened since
  // an earlier rtdemo bound it.
  bool fromStore = false;
};

// The socket to serve on: the stored one if it listens on bind:port (any
// port of that address when port is 0), else a new one bound to bind:port
// with this backlog. Without reusePort there is no SO_REUSEPORT, so a second
// rtdemo on the port fails; with it (rtdemo.reuse-port), every rtdemo that
// also sets it may bind the same address, and the kernel spreads new
// connections over them. Closes every other inherited descriptor. Throws
// Poco::Exception if it cannot bind or listen.
Listener openListener(const std::string& bind, int port, int backlog, bool reusePort = false);

// Hands a newly bound listener to systemd's store (FDSTORE=1, FDNAME=listen).
// A no-op outside systemd; systemd drops it if the unit allows no store.
// Returns false, with *error set, if the notification could not be sent.
bool storeListener(const Poco::Net::ServerSocket& socket, std::string* error);

// Makes this process stop accepting on `socket` without closing the socket
// itself, which systemd's store still holds: at a stop, call it before the
// HTTP server stops. POCO's accept thread polls with a timeout and, once
// told to stop, still accepts what arrives during its last poll, and then
// drops it unanswered. After this call the descriptor number names an inert
// socket instead (dup2), so nothing more is accepted here, and a client
// connecting now waits in the listening socket's queue for the next
// instance. Outside the store, the socket closes a moment earlier than it
// would have, and a late client is refused instead of dropped.
void releaseListener(const Poco::Net::ServerSocket& socket);

}  // namespace rtdemo
