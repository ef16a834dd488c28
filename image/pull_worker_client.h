#ifndef BERTH_IMAGE_PULL_WORKER_CLIENT_H_
#define BERTH_IMAGE_PULL_WORKER_CLIENT_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/spawn.h"
#include "common/unique_fd.h"
#include "image/pull_source.h"
#include "proto/pull_worker.pb.h"

namespace berth::image {

struct PullWorkerOptions {
  // The worker's command; the control socket is its stdin. berthd runs itself.
  std::vector<std::string> argv = {"/proc/self/exe", "pull-worker", "--control-fd", "0"};
  // RegistryClient::Options::certs_dir in the worker (passed as --certs-dir).
  std::string certs_dir = RegistryClient::Options().certs_dir;
  // The worker's log level (passed as --log-level when not empty).
  std::string log_level;
  size_t max_manifest_bytes = kMaxManifestBytes;
};

// berthd's side of a pull worker (image/pull_worker.h): a PullSource whose calls run in a
// child process started for one pull. Each call gets a socketpair, one end passed to the worker
// over the control socket. The worker gets SIGKILL should berthd die, and its stdout and stderr
// are berthd's stderr. A worker that ends or closes a channel before answering fails that call
// with Internal naming the worker, never a hang. Destroying the client closes the control
// socket, which tells the worker to exit once its calls are done, and reaps it. Thread-safe.
class PullWorkerClient : public PullSource {
 public:
  static absl::StatusOr<std::unique_ptr<PullWorkerClient>> Start(const PullWorkerOptions& options);

  PullWorkerClient(const PullWorkerClient&) = delete;
  PullWorkerClient& operator=(const PullWorkerClient&) = delete;
  ~PullWorkerClient() override;

  pid_t pid() const { return process_.pid(); }

  absl::StatusOr<FetchedManifest> GetManifest(const PullEndpoint& endpoint,
                                              const Credentials& creds) override;
  absl::StatusOr<std::string> FetchConfig(const PullEndpoint& endpoint, const std::string& digest,
                                          const Credentials& creds, size_t max_bytes) override;
  absl::StatusOr<LayerDigests> FetchLayerInto(const PullEndpoint& endpoint,
                                              const Credentials& creds, const Descriptor& layer,
                                              const UnpackOptions& options,
                                              const std::string& dir) override;

 private:
  PullWorkerClient(UniqueFd control, Process process, size_t max_manifest_bytes)
      : control_(std::move(control)),
        process_(std::move(process)),
        max_manifest_bytes_(max_manifest_bytes) {}

  // Sends `request` on a new channel and returns the worker's answer (its status when it is
  // an error). `max_response` caps the answer's size.
  absl::StatusOr<pullworker::v1::Response> Call(const pullworker::v1::Request& request,
                                                size_t max_response);
  std::string Name() const;

  UniqueFd control_;
  Process process_;
  const size_t max_manifest_bytes_;
};

// A PullSourceFactory starting one worker per pull.
PullSourceFactory PullWorkerFactory(PullWorkerOptions options);

}  // namespace berth::image

#endif  // BERTH_IMAGE_PULL_WORKER_CLIENT_H_
