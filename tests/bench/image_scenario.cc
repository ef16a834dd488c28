// The image scenario: a cold PullImage of --image, then ImageStatus, ListImages and
// RemoveImage, with pull throughput and the daemon's peak RSS while it pulls.
#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "tests/bench/pod_common.h"
#include "tests/bench/proc_memory.h"
#include "tests/bench/scenario.h"

namespace berth::bench {
namespace {

constexpr char kName[] = "image";
constexpr double kMiB = 1024.0 * 1024.0;

// Removes `image` when present; its absence is not an error.
absl::Status RemoveIfPresent(Target& target, const std::string& image) {
  ctl::CriClient& client = *target.client;
  ASSIGN_OR_RETURN(std::string id, ImageIdOf(target, image));
  if (id.empty()) return absl::OkStatus();
  runtime::v1::RemoveImageRequest request;
  request.mutable_image()->set_image(id);
  runtime::v1::RemoveImageResponse response;
  grpc::Status removed = client.image().RemoveImage(client.Context().get(), request, &response);
  if (!removed.ok()) return ctl::CallError("RemoveImage", removed);
  return absl::OkStatus();
}

void AddMetric(Target& target, const std::string& metric, double value) {
  target.metrics[kName][metric].push_back(value);
}

}  // namespace

absl::Status ImagePrepare(const BenchOptions& options, Target& target) {
  if (options.image.empty()) return absl::InvalidArgumentError("the image scenario needs --image");
  return RemoveIfPresent(target, options.image);
}

absl::Status ImageRunOnce(const BenchOptions& options, Target& target) {
  ctl::CriClient& client = *target.client;
  std::optional<PeakRssSampler> sampler;
  if (target.daemon_pid > 0) {
    sampler.emplace(target.daemon_pid);
    sampler->Start();
  }
  runtime::v1::PullImageRequest pull_request;
  pull_request.mutable_image()->set_image(options.image);
  runtime::v1::PullImageResponse pulled;
  absl::Time start = absl::Now();
  RETURN_IF_ERROR(Timed(target, kName, "PullImage", [&] {
    return client.image().PullImage(client.Context().get(), pull_request, &pulled);
  }));
  double pull_seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (sampler) {
    int64_t peak = sampler->Stop();
    AddMetric(target, "daemon_peak_rss_mib", static_cast<double>(peak) / 1024.0);
    AddMetric(target, "daemon_rss_growth_mib",
              static_cast<double>(peak - sampler->baseline_kib()) / 1024.0);
  }

  runtime::v1::ImageStatusRequest status_request;
  status_request.mutable_image()->set_image(options.image);
  runtime::v1::ImageStatusResponse status;
  RETURN_IF_ERROR(Timed(target, kName, "ImageStatus", [&] {
    return client.image().ImageStatus(client.Context().get(), status_request, &status);
  }));
  if (!status.has_image()) {
    return absl::NotFoundError(absl::StrCat("ImageStatus on ", target.label, ": ", options.image,
                                            " is not there after PullImage"));
  }
  auto size = static_cast<double>(status.image().size());
  AddMetric(target, "image_size_mib", size / kMiB);
  AddMetric(target, "pull_mib_per_s_by_image_size", size / kMiB / pull_seconds);
  if (options.image_compressed_bytes > 0) {
    AddMetric(target, "pull_mib_per_s_compressed",
              static_cast<double>(options.image_compressed_bytes) / kMiB / pull_seconds);
  }

  runtime::v1::ListImagesRequest list_request;
  runtime::v1::ListImagesResponse list;
  RETURN_IF_ERROR(Timed(target, kName, "ListImages", [&] {
    return client.image().ListImages(client.Context().get(), list_request, &list);
  }));

  runtime::v1::RemoveImageRequest remove_request;
  remove_request.mutable_image()->set_image(status.image().id());
  runtime::v1::RemoveImageResponse removed;
  return Timed(target, kName, "RemoveImage", [&] {
    return client.image().RemoveImage(client.Context().get(), remove_request, &removed);
  });
}

}  // namespace berth::bench
