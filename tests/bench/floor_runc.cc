// runc on a busybox bundle, run directly: the floor under CreateContainer and friends.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/spawn.h"
#include "common/status.h"
#include "tests/bench/floor_ops.h"

namespace berth::bench::floor {
namespace {

absl::Status Run(const Runc& runc, std::vector<std::string> args) {
  args.insert(args.begin(), {runc.binary, "--root", runc.root});
  ASSIGN_OR_RETURN(SpawnResult result, RunCommand({.argv = args, .timeout = absl::Seconds(60)}));
  if (!result.success()) {
    return absl::InternalError(absl::StrCat("runc ", args[3], ": ", result.Describe()));
  }
  return absl::OkStatus();
}

absl::Status EditSpec(const std::string& path, const std::string& ns_dir) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  nlohmann::json spec = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!spec.is_object()) return absl::InternalError("runc spec wrote no JSON");
  spec["process"]["args"] = {"sleep", "3600"};
  spec["process"]["terminal"] = false;
  for (nlohmann::json& ns : spec["linux"]["namespaces"]) {
    std::string type = ns.value("type", "");
    if (type == "network") ns["path"] = ns_dir + "/net";
    if (type == "ipc") ns["path"] = ns_dir + "/ipc";
    if (type == "uts") ns["path"] = ns_dir + "/uts";
  }
  return WriteFileAtomic(path, spec.dump(2));
}

}  // namespace

absl::Status MakeBundle(const Runc& runc, const std::string& busybox, const std::string& ns_dir) {
  std::string rootfs = runc.bundle + "/rootfs";
  for (const char* dir : {"bin", "proc", "dev", "sys", "tmp", "etc"}) {
    RETURN_IF_ERROR(MakeDirs(absl::StrCat(rootfs, "/", dir)));
  }
  ASSIGN_OR_RETURN(std::string binary, ReadFile(busybox, 8 << 20));
  RETURN_IF_ERROR(WriteFileAtomic(rootfs + "/bin/busybox", binary, 0755));
  for (const char* applet : {"sh", "sleep", "true"}) {
    std::string link = absl::StrCat(rootfs, "/bin/", applet);
    if (::symlink("busybox", link.c_str()) != 0 && errno != EEXIST) {
      return ErrnoStatus(errno, "linking " + link);
    }
  }
  ASSIGN_OR_RETURN(SpawnResult spec,
                   RunCommand({.argv = {runc.binary, "spec", "--bundle", runc.bundle}}));
  if (!spec.success()) return absl::InternalError("runc spec: " + spec.Describe());
  RETURN_IF_ERROR(MakeDirs(runc.root, 0700));
  return EditSpec(runc.bundle + "/config.json", ns_dir);
}

absl::StatusOr<pid_t> CreateAndStart(const Runc& runc, const std::string& id) {
  std::string pid_file = absl::StrCat(runc.root, "/", id, ".pid");
  ASSIGN_OR_RETURN(Process create,
                   Process::Start({.argv = {runc.binary, "--root", runc.root, "create", "--bundle",
                                            runc.bundle, "--pid-file", pid_file, id},
                                   .stdout_path = runc.log,
                                   .stderr_path = runc.log}));
  ASSIGN_OR_RETURN(int status, create.Wait(absl::Seconds(60)));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(absl::StrCat("runc create ", id, " failed; see ", runc.log));
  }
  ASSIGN_OR_RETURN(std::string pid_text, ReadFile(pid_file));
  ::unlink(pid_file.c_str());
  pid_t pid = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(pid_text), &pid) || pid <= 0) {
    return absl::InternalError("runc create wrote no pid: " + pid_text);
  }
  RETURN_IF_ERROR(Run(runc, {"start", id}));
  return pid;
}

absl::Status KillAndDelete(const Runc& runc, const std::string& id, pid_t pid) {
  RETURN_IF_ERROR(Run(runc, {"kill", id, "KILL"}));
  while (::waitpid(pid, nullptr, 0) < 0) {
    if (errno == EINTR) continue;
    return ErrnoStatus(errno, absl::StrCat("waiting for container ", id, " (pid ", pid,
                                           "); is this process a child subreaper?"));
  }
  return Run(runc, {"delete", id});
}

absl::Status Exec(const Runc& runc, const std::string& id, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"exec", id};
  argv.insert(argv.end(), args.begin(), args.end());
  return Run(runc, argv);
}

}  // namespace berth::bench::floor
