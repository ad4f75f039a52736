#include "dcsde/run/output_folder.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "dcsde/core/error.hpp"

namespace dcsde {
namespace fs = std::filesystem;
namespace {

[[noreturn]] void fail(const fs::path& path, const std::string& what, int error) {
  throw IoError(path.string() + ": " + what + ": " + std::strerror(error));
}

[[noreturn]] void refuse(const fs::path& path, const std::string& why) {
  throw IoError(path.string() + ": " + why + "; nothing was written");
}

// write_text without the output lock, for callers that hold it.
void write_file(const fs::path& file, const std::string& text) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(file, "cannot create", errno);
  // A partial file is removed, but never a device or a pipe written through (/dev/full).
  struct stat info {};
  const bool regular = ::fstat(fd, &info) == 0 && S_ISREG(info.st_mode);
  auto remove_partial = [&] {
    if (regular) ::unlink(file.c_str());
  };
  auto give_up = [&](const char* what) {
    const int error = errno;
    ::close(fd);
    remove_partial();
    fail(file, what, error);
  };
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      give_up("cannot write");
    }
    written += static_cast<std::size_t>(n);
  }
  // Network and some local file systems report a full disk or an I/O error only at close.
  if (::close(fd) != 0) {
    const int error = errno;
    remove_partial();
    fail(file, "cannot write (at close)", error);
  }
}

constexpr const char* kMarkerText =
    "This folder was written by dcsde " DCSDE_VERSION
    ". dcsde replaces it as a whole when a run writes results here again.\n";

bool has_marker(const fs::path& dir) {
  std::error_code ec;
  return fs::is_directory(fs::symlink_status(dir, ec)) &&
         fs::is_regular_file(fs::symlink_status(dir / kResultsMarker, ec));
}

// Whether `path` is `folder` or lies inside it (both canonical).
bool is_within(const fs::path& path, const fs::path& folder) {
  auto p = path.begin();
  for (auto f = folder.begin(); f != folder.end(); ++f, ++p)
    if (p == path.end() || *p != *f) return false;
  return true;
}

fs::path with_suffix(const fs::path& destination, const std::string& suffix) {
  fs::path p = destination;
  p += suffix;
  return p;
}

std::string pid_suffix(const char* kind) { return kind + std::to_string(::getpid()); }

std::string describe(fs::file_type type) {
  switch (type) {
    case fs::file_type::regular:
      return "is a file, not a results folder";
    case fs::file_type::symlink:
      return "is a symbolic link; give the folder it points to";
    case fs::file_type::directory:
      return "is a folder";
    default:
      return "is not a folder (a device, a pipe or a socket)";
  }
}

}  // namespace

void write_text(const fs::path& file, const std::string& text) {
  auto outputs = lock_outputs();
  write_file(file, text);
}

void make_directories(const fs::path& dir) {
  auto outputs = lock_outputs();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw IoError(dir.string() + ": cannot create the folder: " + ec.message());
}

void make_results_folder(const fs::path& dir) {
  if (has_marker(dir)) return;
  make_directories(dir);
  write_text(dir / kResultsMarker, kMarkerText);
}

fs::path checked_destination(const fs::path& destination, const std::vector<fs::path>& inputs) {
  fs::path out = destination.lexically_normal();
  if (!out.empty() && !out.has_filename()) out = out.parent_path();  // "a/b/" is "a/b"
  const std::string name = out.filename().string();
  if (name.empty() || name == "." || name == ".." || out == out.root_path())
    refuse(destination.empty() ? fs::path("''") : destination,
           "is not a results folder dcsde can replace (., .., / and an empty path are refused); "
           "give a folder name");
  std::error_code ec;
  const fs::file_status status = fs::symlink_status(out, ec);
  if (status.type() == fs::file_type::not_found) return out;
  if (ec) fail(out, "cannot inspect the results folder", ec.value());
  if (status.type() != fs::file_type::directory) refuse(out, describe(status.type()));
  if (!has_marker(out))
    refuse(out, std::string("is a folder that dcsde did not write (it has no ") + kResultsMarker +
                    " marker); dcsde replaces only results folders it wrote: choose another "
                    "--out, or move that folder yourself");
  const fs::path real = fs::canonical(out, ec);
  const fs::path cwd = fs::canonical(fs::current_path(), ec);
  if (!ec && is_within(cwd, real))
    refuse(out, "holds the working folder " + cwd.string() + ", which replacing it would remove");
  for (const fs::path& input : inputs) {
    const fs::path file = fs::canonical(input, ec);
    if (!ec && is_within(file, real))
      refuse(out, "holds " + input.string() +
                      ", which this run reads and replacing it would "
                      "delete; copy it elsewhere or choose another --out");
  }
  return out;
}

OutputLock::OutputLock(const fs::path& destination) : file_(with_suffix(destination, ".lock")) {
  if (file_.has_parent_path()) make_directories(file_.parent_path());
  for (int attempt = 0; fd_ < 0; ++attempt) {
    const int fd = ::open(file_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) fail(file_, "cannot create the lock file", errno);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int error = errno;
      char pid[32] = {};
      const ssize_t n = ::pread(fd, pid, sizeof pid - 1, 0);
      ::close(fd);
      if (error != EWOULDBLOCK) fail(file_, "cannot lock", error);
      const std::string holder = n > 0 ? "PID " + std::string(pid, static_cast<std::size_t>(n))
                                       : "its PID not yet written";
      throw IoError(destination.string() + ": another dcsde run (" + holder +
                    ") is writing these results (lock " + file_.string() +
                    "); wait for it to finish, or choose another --out");
    }
    // The previous holder removes the file when it releases the lock: if that happened between
    // our open and our flock, we hold a lock on a file no longer at the path. Take the new one.
    struct stat held {
    }, named{};
    if (::fstat(fd, &held) == 0 && ::stat(file_.c_str(), &named) == 0 &&
        held.st_ino == named.st_ino && held.st_dev == named.st_dev) {
      fd_ = fd;
    } else {
      ::close(fd);
      if (attempt == 100) throw IoError(file_.string() + ": the lock file keeps changing");
    }
  }
  const std::string pid = std::to_string(::getpid());
  if (::ftruncate(fd_, 0) != 0 ||
      ::pwrite(fd_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    const int error = errno;
    ::unlink(file_.c_str());
    ::close(fd_);
    fail(file_, "cannot write the lock file", error);
  }
  cleanup_ = std::make_unique<RemoveOnInterrupt>(file_, /*announce=*/false);
}

OutputLock::~OutputLock() {
  // Removed while still held, so that no other run can hold a lock on the removed file.
  ::unlink(file_.c_str());
  ::close(fd_);
}

std::vector<std::string> recover_leftovers(const fs::path& destination) {
  std::vector<std::string> actions;
  const fs::path parent = destination.has_parent_path() ? destination.parent_path() : ".";
  const std::string name = destination.filename().string();
  std::error_code ec;
  if (!fs::is_directory(parent, ec)) return actions;
  std::vector<fs::path> leftovers;
  for (const auto& entry : fs::directory_iterator(parent, ec)) {
    const std::string entry_name = entry.path().filename().string();
    for (const char* kind : {".tmp-", ".old-"}) {
      const std::string prefix = name + kind;
      if (entry_name.size() <= prefix.size() || entry_name.compare(0, prefix.size(), prefix) != 0)
        continue;
      const std::string pid = entry_name.substr(prefix.size());
      if (pid.find_first_not_of("0123456789") != std::string::npos ||
          pid == std::to_string(::getpid()) || !has_marker(entry.path()))
        continue;
      leftovers.push_back(destination.parent_path() / entry_name);  // as the user named it
    }
  }
  for (const fs::path& leftover : leftovers) {
    const std::string leftover_name = leftover.filename().string();
    const bool aside = leftover_name.compare(name.size(), 5, ".old-") == 0;
    const std::string pid = leftover_name.substr(name.size() + 5);
    if (aside && !fs::exists(fs::symlink_status(destination, ec))) {
      fs::rename(leftover, destination, ec);
      if (ec) fail(leftover, "cannot put back the previous results", ec.value());
      actions.push_back("put back the previous results " + destination.string() + " from " +
                        leftover.string() + " (run " + pid + " was killed while replacing them)");
      continue;
    }
    fs::remove_all(leftover, ec);
    if (ec) fail(leftover, "cannot remove the folder left by a killed run", ec.value());
    actions.push_back("removed " + leftover.string() + ", left by run " + pid +
                      " (killed before it finished)");
  }
  return actions;
}

StagedDirectory::StagedDirectory(fs::path destination)
    : destination_(std::move(destination)),
      staging_(with_suffix(destination_, pid_suffix(".tmp-"))),
      cleanup_(staging_) {
  auto outputs = lock_outputs();
  std::error_code ec;
  if (fs::exists(fs::symlink_status(staging_, ec))) {
    if (!has_marker(staging_)) refuse(staging_, "exists and is not a dcsde staging folder");
    fs::remove_all(staging_, ec);
  }
  ec.clear();
  if (staging_.has_parent_path()) fs::create_directories(staging_.parent_path(), ec);
  if (!ec) fs::create_directory(staging_, ec);
  if (ec) throw IoError(staging_.string() + ": cannot create the results folder: " + ec.message());
  write_file(staging_ / kResultsMarker, kMarkerText);
}

StagedDirectory::~StagedDirectory() {
  if (committed_) return;
  std::error_code ec;
  fs::remove_all(staging_, ec);
}

void StagedDirectory::commit(Replace replace) {
  auto outputs = lock_outputs();  // an interruption waits until the results are in place
  std::error_code ec;
  const fs::file_status status = fs::symlink_status(destination_, ec);
  if (status.type() == fs::file_type::not_found) {
    if (::renameat2(AT_FDCWD, staging_.c_str(), AT_FDCWD, destination_.c_str(), RENAME_NOREPLACE) !=
        0) {
      if (errno != EINVAL && errno != ENOSYS)
        fail(destination_, "cannot move the results in", errno);
      fs::rename(staging_, destination_, ec);  // a file system without RENAME_NOREPLACE
      if (ec) fail(destination_, "cannot move the results in", ec.value());
    }
  } else if (!has_marker(destination_)) {
    committed_ = true;  // keep the results where they are
    refuse(destination_,
           "was replaced during the run by something dcsde did not write; the "
           "results are in " +
               staging_.string());
  } else if (replace == Replace::kExchange &&
             ::renameat2(AT_FDCWD, staging_.c_str(), AT_FDCWD, destination_.c_str(),
                         RENAME_EXCHANGE) == 0) {
    fs::remove_all(staging_, ec);  // the previous results; a failure leaves a leftover
  } else {
    if (replace == Replace::kExchange && errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
      fail(destination_, "cannot move the results in", errno);
    const fs::path aside = with_suffix(destination_, pid_suffix(".old-"));
    fs::rename(destination_, aside, ec);
    if (ec) fail(destination_, "cannot move the previous results aside", ec.value());
    fs::rename(staging_, destination_, ec);
    if (ec) {
      std::error_code back;
      fs::rename(aside, destination_, back);
      fail(destination_, "cannot move the results in", ec.value());
    }
    fs::remove_all(aside, ec);
  }
  committed_ = true;
  cleanup_.release();
}

ClaimedDestination::ClaimedDestination(const fs::path& destination,
                                       const std::vector<fs::path>& inputs)
    : path_(checked_destination(destination, inputs)),
      lock_(path_),
      notes_(recover_leftovers(path_)) {}

}  // namespace dcsde
