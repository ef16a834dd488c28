#ifndef BERTH_SERVER_IMAGE_MANAGER_H_
#define BERTH_SERVER_IMAGE_MANAGER_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "image/auth_file.h"
#include "image/importer.h"
#include "image/puller.h"
#include "image/registries_config.h"
#include "image/store.h"
#include "proto/cri/api.pb.h"
#include "server/config.h"

namespace berth {

// The ImageService's logic, free of gRPC: the image store, the registries configuration and
// the puller, and the mapping of stored images to CRI messages. Thread-safe.
class ImageManager {
 public:
  static absl::StatusOr<std::unique_ptr<ImageManager>> Open(const Config& config);

  // Pulls and returns the image id (the kubelet's image_ref).
  absl::StatusOr<std::string> Pull(const runtime::v1::PullImageRequest& request);
  // nullopt when the image is absent. `info` receives the verbose JSON when asked for.
  absl::StatusOr<std::optional<runtime::v1::Image>> Status(const runtime::v1::ImageSpec& spec,
                                                           bool verbose, std::string* info);
  absl::StatusOr<std::vector<runtime::v1::Image>> List(const runtime::v1::ImageFilter& filter);
  // Idempotent: an absent image is fine.
  absl::Status Remove(const runtime::v1::ImageSpec& spec);
  absl::StatusOr<runtime::v1::ImageFsInfoResponse> FsInfo();
  // Imports the images of the archive at `path` (see image::Importer).
  absl::StatusOr<std::vector<image::ImportedImage>> Import(const std::string& path,
                                                          const image::ImportOptions& options);
  // What a container needs of its image: the id, the config blob, and the layers' unpacked
  // directories (base first). NotFound naming `ref` when the image is absent.
  struct ResolvedImage {
    std::string id;
    std::string config_json;
    std::vector<std::string> layer_dirs;
  };
  absl::StatusOr<ResolvedImage> Resolve(const std::string& ref);
  // Tells which container uses an image id ("" for none); RemoveImage refuses while one does.
  void SetInUseCheck(std::function<std::string(const std::string&)> check) {
    in_use_ = std::move(check);
  }

  // Where archives being received are written: on the store's filesystem, cleared at startup.
  std::string ImportTempDir() const { return store_->root() + "/tmp"; }

 private:
  ImageManager(const Config& config, std::unique_ptr<image::Store> store,
               image::RegistriesConfig registries, image::AuthFile auth_file);
  runtime::v1::Image ToCri(const image::StoredImage& stored);
  // The config's User, cached per image id (configs never change for an id).
  std::string ImageUser(const state::v1::ImageRecord& record);

  const Config& config_;
  std::unique_ptr<image::Store> store_;
  image::RegistriesConfig registries_;
  image::AuthFile auth_file_;
  image::Puller puller_;
  image::Importer importer_;

  std::function<std::string(const std::string&)> in_use_;
  absl::Mutex mu_;
  std::map<std::string, std::string> users_ ABSL_GUARDED_BY(mu_);
};

// CRI AuthConfig -> registry credentials (InvalidArgument for a malformed `auth`).
absl::StatusOr<image::Credentials> CredentialsFromAuthConfig(const runtime::v1::AuthConfig& auth);

// The image config's User as CRI Image.uid / Image.username ("1000", "1000:1000", "app").
void SetImageUser(const std::string& user, runtime::v1::Image& image);

}  // namespace berth

#endif  // BERTH_SERVER_IMAGE_MANAGER_H_
