#ifndef BERTH_IMAGE_PULL_WORKER_H_
#define BERTH_IMAGE_PULL_WORKER_H_

#include <string>

#include "absl/status/status.h"
#include "image/pull_source.h"
#include "image/registry_client.h"

namespace berth::image {

// The pull worker: `berthd pull-worker --control-fd 0`, started by berthd for one pull
// (image/pull_worker_client.h). It runs the network and tar half of the pull (RegistryClient,
// libcurl, libarchive, UnpackLayer) so that berthd never loads those libraries nor parses the
// registry's HTTP, TLS and tar itself, and exits when the pull ends, giving their memory back.
//
// Serves the calls passed over `control_fd` (a SOCK_SEQPACKET socket; each message carries one
// SOCK_STREAM socket as SCM_RIGHTS: one request in, one response out, then closed) with
// `source`, each call on its own thread, until the control socket reaches EOF (berthd closed
// it, or died); then waits for the calls in flight and returns. Requests hold credentials:
// nothing here logs them.
absl::Status ServePullWorker(int control_fd, PullSource& source);

struct PullWorkerFlags {
  int control_fd = 0;
  std::string certs_dir = RegistryClient::Options().certs_dir;
};

// The worker process's main: a RegistryClient and LocalPullSource served on the control fd.
// Returns the exit code.
int RunPullWorker(const PullWorkerFlags& flags);

}  // namespace berth::image

#endif  // BERTH_IMAGE_PULL_WORKER_H_
