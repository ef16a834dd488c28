#include "ctl/image_commands.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"

namespace berth::ctl {
namespace {

// "registry/repo:tag" -> {"registry/repo", "tag"}; the tag is after the last ':' that follows
// the last '/'.
std::pair<std::string, std::string> SplitTag(const std::string& name) {
  size_t slash = name.rfind('/');
  size_t colon = name.rfind(':');
  if (colon == std::string::npos || (slash != std::string::npos && colon < slash)) {
    return {name, "<none>"};
  }
  return {name.substr(0, colon), name.substr(colon + 1)};
}

std::string ShortId(const std::string& id) {
  std::string hex = id.substr(id.find(':') == std::string::npos ? 0 : id.find(':') + 1);
  return hex.substr(0, 13);
}

}  // namespace

std::string HumanSize(uint64_t bytes) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1000 && unit < 4) {
    value /= 1000;
    ++unit;
  }
  return absl::StrFormat("%.3g%s", value, units[unit]);
}

absl::Status PullImage(CriClient& client, const PullFlags& flags, std::string& out) {
  runtime::v1::PullImageRequest request;
  request.mutable_image()->set_image(flags.image);
  if (!flags.creds.empty()) {
    size_t colon = flags.creds.find(':');
    if (colon == std::string::npos) {
      return absl::InvalidArgumentError("--creds must be USERNAME:PASSWORD");
    }
    request.mutable_auth()->set_username(flags.creds.substr(0, colon));
    request.mutable_auth()->set_password(flags.creds.substr(colon + 1));
  }
  if (!flags.auth.empty()) request.mutable_auth()->set_auth(flags.auth);
  runtime::v1::PullImageResponse response;
  grpc::Status status = client.image().PullImage(client.Context().get(), request, &response);
  if (!status.ok()) return CallError("PullImage", status);
  absl::StrAppend(&out, "Image is up to date for ", response.image_ref(), "\n");
  return absl::OkStatus();
}

absl::Status ListImages(CriClient& client, const std::string& filter, bool quiet,
                        std::string& out) {
  runtime::v1::ListImagesRequest request;
  if (!filter.empty()) request.mutable_filter()->mutable_image()->set_image(filter);
  runtime::v1::ListImagesResponse response;
  grpc::Status status = client.image().ListImages(client.Context().get(), request, &response);
  if (!status.ok()) return CallError("ListImages", status);
  if (!quiet)
    absl::StrAppend(&out,
                    absl::StrFormat("%-50s %-20s %-15s %s\n", "IMAGE", "TAG", "IMAGE ID", "SIZE"));
  for (const runtime::v1::Image& image : response.images()) {
    if (quiet) {
      absl::StrAppend(&out, image.id(), "\n");
      continue;
    }
    std::vector<std::pair<std::string, std::string>> names;
    for (const std::string& tag : image.repo_tags()) names.push_back(SplitTag(tag));
    if (names.empty()) {
      std::string repo = image.repo_digests().empty()
                             ? "<none>"
                             : image.repo_digests(0).substr(0, image.repo_digests(0).find('@'));
      names.emplace_back(repo, "<none>");
    }
    for (const auto& [repo, tag] : names) {
      absl::StrAppend(&out, absl::StrFormat("%-50s %-20s %-15s %s\n", repo, tag,
                                            ShortId(image.id()), HumanSize(image.size())));
    }
  }
  return absl::OkStatus();
}

absl::Status InspectImage(CriClient& client, const std::string& image, std::string& out) {
  runtime::v1::ImageStatusRequest request;
  request.mutable_image()->set_image(image);
  request.set_verbose(true);
  runtime::v1::ImageStatusResponse response;
  grpc::Status status = client.image().ImageStatus(client.Context().get(), request, &response);
  if (!status.ok()) return CallError("ImageStatus", status);
  if (!response.has_image()) return absl::NotFoundError(absl::StrCat("no such image: ", image));
  absl::StatusOr<nlohmann::json> json = MessageToJson(response.image());
  if (!json.ok()) return json.status();
  nlohmann::json doc = {{"status", *json}};
  for (const auto& [key, value] : response.info()) {
    nlohmann::json parsed = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
    doc[key] = parsed.is_discarded() ? nlohmann::json(value) : parsed;
  }
  absl::StrAppend(&out, doc.dump(2), "\n");
  return absl::OkStatus();
}

absl::Status RemoveImages(CriClient& client, const std::vector<std::string>& images,
                          std::string& out) {
  for (const std::string& image : images) {
    runtime::v1::RemoveImageRequest request;
    request.mutable_image()->set_image(image);
    runtime::v1::RemoveImageResponse response;
    grpc::Status status = client.image().RemoveImage(client.Context().get(), request, &response);
    if (!status.ok()) return CallError("RemoveImage", status);
    absl::StrAppend(&out, "Deleted: ", image, "\n");
  }
  return absl::OkStatus();
}

absl::Status ImageFsInfo(CriClient& client, std::string& out) {
  runtime::v1::ImageFsInfoResponse response;
  grpc::Status status = client.image().ImageFsInfo(client.Context().get(),
                                                   runtime::v1::ImageFsInfoRequest(), &response);
  if (!status.ok()) return CallError("ImageFsInfo", status);
  absl::StatusOr<nlohmann::json> json = MessageToJson(response);
  if (!json.ok()) return json.status();
  absl::StrAppend(&out, json->dump(2), "\n");
  return absl::OkStatus();
}

}  // namespace berth::ctl
