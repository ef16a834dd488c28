#include "server/image_manager.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/files.h"
#include "common/log.h"
#include "common/status.h"
#include "image/layer_store.h"
#include "image/manifest.h"
#include "image/pull_worker_client.h"
#include "image/reference.h"
#include "nlohmann/json.hpp"

namespace berth {
namespace {

runtime::v1::FilesystemUsage Usage(const std::string& mountpoint, int64_t bytes, int64_t inodes,
                                   int64_t timestamp) {
  runtime::v1::FilesystemUsage usage;
  usage.set_timestamp(timestamp);
  usage.mutable_fs_id()->set_mountpoint(mountpoint);
  usage.mutable_used_bytes()->set_value(static_cast<uint64_t>(std::max<int64_t>(0, bytes)));
  usage.mutable_inodes_used()->set_value(static_cast<uint64_t>(std::max<int64_t>(0, inodes)));
  return usage;
}

// "https://registry.example.com/v1/" -> "registry.example.com".
std::string RegistryHost(std::string address) {
  for (const char* scheme : {"https://", "http://"}) {
    if (absl::StartsWith(address, scheme)) address = address.substr(std::strlen(scheme));
  }
  return address.substr(0, address.find('/'));
}

}  // namespace

absl::StatusOr<image::Credentials> CredentialsFromAuthConfig(const runtime::v1::AuthConfig& auth) {
  image::Credentials creds;
  if (!auth.auth().empty()) {
    ASSIGN_OR_RETURN(creds, image::Credentials::FromAuth(auth.auth()));
  }
  if (!auth.username().empty() || !auth.password().empty()) {
    creds.username = auth.username();
    creds.password = auth.password();
  }
  creds.identity_token = auth.identity_token();
  creds.registry_token = auth.registry_token();
  if (!auth.server_address().empty()) creds.registry = RegistryHost(auth.server_address());
  return creds;
}

void SetImageUser(const std::string& user, runtime::v1::Image& image) {
  std::string name = user.substr(0, user.find(':'));
  if (name.empty()) return;
  int64_t uid;
  if (absl::SimpleAtoi(name, &uid) && uid >= 0) {
    image.mutable_uid()->set_value(uid);
  } else {
    image.set_username(name);
  }
}

absl::StatusOr<std::unique_ptr<ImageManager>> ImageManager::Open(const Config& config) {
  image::StoreOptions options;
  options.root = config.root;
  options.pinned_images = config.pinned_images;
  ASSIGN_OR_RETURN(std::unique_ptr<image::Store> store, image::Store::Open(std::move(options)));
  ASSIGN_OR_RETURN(
      image::RegistriesConfig registries,
      image::RegistriesConfig::Load(config.registries_conf, config.registries_conf_dir));
  image::AuthFile auth_file;
  if (!config.global_auth_file.empty()) {
    ASSIGN_OR_RETURN(auth_file, image::AuthFile::Load(config.global_auth_file));
  }
  return std::unique_ptr<ImageManager>(
      new ImageManager(config, std::move(store), std::move(registries), std::move(auth_file)));
}

ImageManager::ImageManager(const Config& config, std::unique_ptr<image::Store> store,
                           image::RegistriesConfig registries, image::AuthFile auth_file)
    : config_(config),
      store_(std::move(store)),
      registries_(std::move(registries)),
      auth_file_(std::move(auth_file)),
      // Every pull's registry and tar work runs in a worker process of its own, so berthd
      // never loads libcurl or libarchive for a pull (image/pull_worker.h).
      puller_(store_.get(),
              image::PullWorkerFactory(image::PullWorkerOptions{
                  .certs_dir = config.registry_certs_dir, .log_level = config.log_level}),
              &registries_, &auth_file_,
              image::PullerOptions{.max_parallel_downloads =
                                       static_cast<int>(config.max_parallel_downloads)}),
      importer_(store_.get()) {}

absl::StatusOr<std::vector<image::ImportedImage>> ImageManager::Import(
    const std::string& path, const image::ImportOptions& options) {
  return importer_.Import(path, options);
}

absl::StatusOr<std::string> ImageManager::Pull(const runtime::v1::PullImageRequest& request) {
  const std::string& name = request.image().image();
  if (name.empty()) return absl::InvalidArgumentError("PullImage: no image named");
  ASSIGN_OR_RETURN(image::Credentials creds, CredentialsFromAuthConfig(request.auth()));
  absl::StatusOr<std::string> id = puller_.Pull(name, creds);
  if (!id.ok()) return Annotate(id.status(), absl::StrCat("pulling image ", name));
  return id;
}

std::string ImageManager::ImageUser(const state::v1::ImageRecord& record) {
  {
    absl::MutexLock lock(&mu_);
    auto it = users_.find(record.id());
    if (it != users_.end()) return it->second;
  }
  std::string user;
  absl::StatusOr<std::string> blob = store_->GetBlob(record.config_digest());
  if (blob.ok()) {
    absl::StatusOr<image::ImageConfig> parsed = image::ParseImageConfig(*blob);
    if (parsed.ok()) user = parsed->user;
  }
  if (!blob.ok()) LOG_WARN("image {}: reading its config: {}", record.id(), blob.status());
  absl::MutexLock lock(&mu_);
  users_[record.id()] = user;
  return user;
}

runtime::v1::Image ImageManager::ToCri(const image::StoredImage& stored) {
  const state::v1::ImageRecord& record = stored.record;
  runtime::v1::Image out;
  out.set_id(record.id());
  for (const std::string& tag : record.repo_tags()) out.add_repo_tags(tag);
  for (const std::string& digest : record.repo_digests()) out.add_repo_digests(digest);
  out.set_size(static_cast<uint64_t>(std::max<int64_t>(1, record.size())));
  out.mutable_spec()->set_image(record.id());
  for (const auto& [key, value] : record.annotations()) {
    (*out.mutable_spec()->mutable_annotations())[key] = value;
  }
  out.set_pinned(stored.pinned);
  SetImageUser(ImageUser(record), out);
  return out;
}

absl::StatusOr<std::optional<runtime::v1::Image>> ImageManager::Status(
    const runtime::v1::ImageSpec& spec, bool verbose, std::string* info) {
  if (spec.image().empty()) return absl::InvalidArgumentError("ImageStatus: no image named");
  absl::StatusOr<image::StoredImage> stored = store_->Lookup(spec.image());
  if (absl::IsNotFound(stored.status())) return std::nullopt;
  if (!stored.ok()) return stored.status();
  if (verbose && info != nullptr) {
    nlohmann::json json = {{"id", stored->record.id()},
                           {"manifestDigest", stored->record.manifest_digest()},
                           {"manifestMediaType", stored->record.manifest_media_type()},
                           {"indexDigest", stored->record.index_digest()},
                           {"chainIDs", stored->record.chain_ids()},
                           {"pinned", stored->pinned}};
    absl::StatusOr<std::string> config = store_->GetBlob(stored->record.config_digest());
    if (config.ok()) {
      json["config"] = nlohmann::json::parse(*config, nullptr, /*allow_exceptions=*/false);
    }
    *info = json.dump();
  }
  return ToCri(*stored);
}

absl::StatusOr<std::vector<runtime::v1::Image>> ImageManager::List(
    const runtime::v1::ImageFilter& filter) {
  std::vector<runtime::v1::Image> out;
  if (!filter.image().image().empty()) {
    absl::StatusOr<image::StoredImage> stored = store_->Lookup(filter.image().image());
    if (stored.ok()) out.push_back(ToCri(*stored));
    if (!stored.ok() && !absl::IsNotFound(stored.status())) return stored.status();
    return out;
  }
  for (const image::StoredImage& stored : store_->List()) out.push_back(ToCri(stored));
  return out;
}

absl::Status ImageManager::Remove(const runtime::v1::ImageSpec& spec) {
  if (spec.image().empty()) return absl::InvalidArgumentError("RemoveImage: no image named");
  absl::StatusOr<image::StoredImage> stored = store_->Lookup(spec.image());
  if (absl::IsNotFound(stored.status())) return absl::OkStatus();
  if (!stored.ok()) return stored.status();
  if (in_use_) {
    std::string container = in_use_(stored->record.id());
    if (!container.empty()) {
      return absl::FailedPreconditionError(absl::StrCat("image ", spec.image(),
                                                        " is in use by container ", container));
    }
  }
  absl::Status removed = store_->Remove(stored->record.id());
  if (absl::IsNotFound(removed)) return absl::OkStatus();  // removed meanwhile
  {
    absl::MutexLock lock(&mu_);
    users_.erase(stored->record.id());
  }
  return Annotate(removed, absl::StrCat("removing image ", spec.image()));
}

absl::StatusOr<ImageManager::ResolvedImage> ImageManager::Resolve(const std::string& ref) {
  if (ref.empty()) return absl::InvalidArgumentError("no image named");
  absl::StatusOr<image::StoredImage> stored = store_->Lookup(ref);
  if (absl::IsNotFound(stored.status()) || absl::IsInvalidArgument(stored.status())) {
    return absl::NotFoundError(absl::StrCat("image ", ref, " not found"));
  }
  if (!stored.ok()) return stored.status();
  ResolvedImage resolved;
  resolved.id = stored->record.id();
  ASSIGN_OR_RETURN(resolved.config_json, store_->GetBlob(stored->record.config_digest()));
  for (const std::string& chain_id : stored->record.chain_ids()) {
    ASSIGN_OR_RETURN(std::string dir, store_->LayerDiffPath(chain_id));
    resolved.layer_dirs.push_back(std::move(dir));
  }
  return resolved;
}

absl::StatusOr<runtime::v1::ImageFsInfoResponse> ImageManager::FsInfo() {
  ASSIGN_OR_RETURN(image::ImageFsUsage images, store_->FsUsage());
  runtime::v1::ImageFsInfoResponse response;
  *response.add_image_filesystems() =
      Usage(images.mountpoint, images.used_bytes, images.inodes_used, images.timestamp_unix_nanos);
  // Containers' writable layers live in <root>/containers.
  std::string containers = absl::StrCat(config_.root, "/containers");
  RETURN_IF_ERROR(MakeDirs(containers, 0711));
  image::UsageWalker walker;
  RETURN_IF_ERROR(walker.Add(containers));
  *response.add_container_filesystems() = Usage(
      containers, walker.usage().disk_bytes, walker.usage().inodes, absl::ToUnixNanos(absl::Now()));
  return response;
}

}  // namespace berth
