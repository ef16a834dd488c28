#include "server/admin_service.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/log.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "server/grpc_status.h"

namespace berth {

namespace apb = berth::admin::v1;

namespace {

image::ArchiveFormat FormatOf(apb::ArchiveFormat format) {
  switch (format) {
    case apb::ARCHIVE_FORMAT_OCI_LAYOUT:
      return image::ArchiveFormat::kOciLayout;
    case apb::ARCHIVE_FORMAT_DOCKER_SAVE:
      return image::ArchiveFormat::kDockerSave;
    default:
      return image::ArchiveFormat::kAuto;
  }
}

// One ImportImage call: receives the archive into a temporary file, then imports it on the
// executor. Deletes itself when gRPC is done with it.
class ImportReactor final : public grpc::ServerReadReactor<apb::ImportImageChunk> {
 public:
  ImportReactor(grpc::CallbackServerContext* context, ImageManager* images, Executor* executor,
                int64_t max_bytes, apb::ImportImageResponse* response)
      : context_(context),
        images_(images),
        executor_(executor),
        max_bytes_(max_bytes),
        response_(response) {
    absl::Status opened = OpenTempFile();
    if (!opened.ok()) {
      Finish(ToGrpcStatus(opened));
      return;
    }
    StartRead(&chunk_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client finished sending (or went away: then OnCancel/Finish is moot)
      file_.Reset();
      executor_->Run([this] { RunImport(); });
      return;
    }
    absl::Status status = Consume();
    if (!status.ok()) {
      RemoveTempFile();
      Finish(ToGrpcStatus(status));
      return;
    }
    StartRead(&chunk_);
  }

  void OnDone() override {
    RemoveTempFile();
    delete this;
  }

 private:
  absl::Status OpenTempFile() {
    path_ = absl::StrCat(images_->ImportTempDir(), "/import-XXXXXX");
    int fd = ::mkostemp(path_.data(), O_CLOEXEC);
    if (fd < 0) {
      absl::Status status = ErrnoStatus(errno, absl::StrCat("creating ", path_));
      path_.clear();
      return status;
    }
    file_ = UniqueFd(fd);
    return absl::OkStatus();
  }

  absl::Status Consume() {
    if (first_) {
      first_ = false;
      options_.tag = chunk_.metadata().tag();
      options_.format = FormatOf(chunk_.metadata().format());
    } else if (chunk_.has_metadata()) {
      return absl::InvalidArgumentError("ImportImage: metadata after the first message");
    }
    received_ += static_cast<int64_t>(chunk_.data().size());
    if (received_ > max_bytes_) {
      return absl::ResourceExhaustedError(
          absl::StrCat("ImportImage: the archive is larger than ", max_bytes_, " bytes"));
    }
    return WriteAll(file_.get(), chunk_.data(), "the archive being imported");
  }

  void RunImport() {
    if (context_->IsCancelled()) {  // the client went away mid-stream: a partial archive
      RemoveTempFile();
      Finish(grpc::Status::CANCELLED);
      return;
    }
    absl::StatusOr<std::vector<image::ImportedImage>> imported =
        received_ == 0 ? absl::InvalidArgumentError("ImportImage: no archive data received")
                       : images_->Import(path_, options_);
    RemoveTempFile();
    if (!imported.ok()) {
      LOG_WARN("ImportImage: {}", imported.status());
      Finish(ToGrpcStatus(imported.status()));
      return;
    }
    for (const image::ImportedImage& image : *imported) {
      apb::ImportedImage* out = response_->add_images();
      out->set_id(image.id);
      for (const std::string& name : image.names) out->add_names(name);
    }
    Finish(grpc::Status::OK);
  }

  void RemoveTempFile() {
    file_.Reset();
    if (!path_.empty()) {
      ::unlink(path_.c_str());
      path_.clear();
    }
  }

  grpc::CallbackServerContext* context_;
  ImageManager* images_;
  Executor* executor_;
  const int64_t max_bytes_;
  apb::ImportImageResponse* response_;
  apb::ImportImageChunk chunk_;
  bool first_ = true;
  int64_t received_ = 0;
  image::ImportOptions options_;
  std::string path_;
  UniqueFd file_;
};

}  // namespace

grpc::ServerReadReactor<apb::ImportImageChunk>* AdminService::ImportImage(
    grpc::CallbackServerContext* context, apb::ImportImageResponse* response) {
  return new ImportReactor(context, images_, executor_, max_import_bytes_, response);
}

}  // namespace berth
