#include "ctl/import_command.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/unique_fd.h"

namespace berth::ctl {
namespace {

namespace apb = berth::admin::v1;

constexpr size_t kChunkBytes = 1 << 20;

absl::StatusOr<apb::ArchiveFormat> ParseFormat(const std::string& format) {
  if (format.empty() || format == "auto") return apb::ARCHIVE_FORMAT_AUTO;
  if (format == "oci") return apb::ARCHIVE_FORMAT_OCI_LAYOUT;
  if (format == "docker") return apb::ARCHIVE_FORMAT_DOCKER_SAVE;
  return absl::InvalidArgumentError(
      absl::StrCat("--format \"", format, "\" is not one of auto, oci, docker"));
}

}  // namespace

absl::Status ImportImage(CriClient& client, const ImportFlags& flags, std::string& out) {
  absl::StatusOr<apb::ArchiveFormat> format = ParseFormat(flags.format);
  if (!format.ok()) return format.status();
  UniqueFd fd(::open(flags.file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    return absl::NotFoundError(absl::StrCat("opening ", flags.file, ": ", std::strerror(errno)));
  }
  grpc::ClientContext context;  // no deadline: see the header
  apb::ImportImageResponse response;
  std::unique_ptr<grpc::ClientWriter<apb::ImportImageChunk>> writer =
      client.admin().ImportImage(&context, &response);
  apb::ImportImageChunk chunk;
  chunk.mutable_metadata()->set_tag(flags.tag);
  chunk.mutable_metadata()->set_format(*format);
  std::vector<char> buffer(kChunkBytes);
  bool stream_ok = true;
  absl::Status read_error;
  while (stream_ok) {
    ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      read_error =
          absl::InternalError(absl::StrCat("reading ", flags.file, ": ", std::strerror(errno)));
      break;
    }
    if (n == 0) break;
    chunk.set_data(buffer.data(), static_cast<size_t>(n));
    stream_ok = writer->Write(chunk);
    chunk.Clear();
  }
  if (!read_error.ok()) {
    context.TryCancel();
    (void)writer->Finish();
    return read_error;
  }
  // Metadata alone when the file was empty: the server reports the missing data.
  if (stream_ok && chunk.has_metadata()) writer->Write(chunk);
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  if (!status.ok()) return CallError("ImportImage", status);
  for (const apb::ImportedImage& image : response.images()) {
    absl::StrAppend(&out, "Imported ", image.id(), image.names().empty() ? "" : " ",
                    absl::StrJoin(image.names(), " "), "\n");
  }
  return absl::OkStatus();
}

}  // namespace berth::ctl
