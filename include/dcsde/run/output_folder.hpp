// Results folders that never destroy what dcsde did not write (STYLE.md "No half results").
//
// * A results folder carries a marker file (kResultsMarker). dcsde replaces or writes into a
//   folder only when it carries the marker; anything else at the destination (a user's folder, a
//   file, a device, a symbolic link, ".", "..", "/", an ancestor of the working folder, a folder
//   holding the experiment file) is refused before anything runs, and nothing is touched.
// * A run holds an exclusive lock on its destination (flock of `<destination>.lock`): a second
//   run or a --resume on the same path fails at once, naming the running PID.
// * Results are written under `<destination>.tmp-<pid>` and swapped into place by one atomic
//   rename (RENAME_EXCHANGE), so at every instant the old or the new results are complete. Where
//   the file system cannot exchange, the old folder is renamed aside to `<destination>.old-<pid>`
//   first; a crash between the two renames leaves that named folder, which the next run on the
//   destination puts back.
// * Every write is checked through close and rename: a full disk is an IoError naming the file
//   and the system's message, and the staging folder is removed.
// * Staging folders are removed on SIGINT, SIGTERM and SIGHUP (run/interrupt.hpp); those left by
//   a SIGKILL or a power cut are removed by the next run on the same destination.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "dcsde/run/interrupt.hpp"

namespace dcsde {

// The file that marks a folder as written by dcsde.
inline constexpr const char* kResultsMarker = ".dcsde-results";

// Writes `text` to `file`, checking every write and the close; a failure is an IoError naming
// the file and the system's message, and removes the partial file.
void write_text(const std::filesystem::path& file, const std::string& text);

// Creates `dir` and its missing parents; an IoError names what failed.
void make_directories(const std::filesystem::path& dir);

// Creates `dir` as a results folder that runs write into rather than replace (dcsde bound,
// dcsde reproduce): with its parents and the marker, unless it exists. Check it first.
void make_results_folder(const std::filesystem::path& dir);

// Checks that dcsde may write results to `destination` and returns it normalized (no trailing
// separator). It may be absent, or a folder carrying the marker. `inputs` are files the run reads
// (the experiment file): a destination that is one of them or holds one is refused. Throws
// IoError naming the path and why.
std::filesystem::path checked_destination(const std::filesystem::path& destination,
                                          const std::vector<std::filesystem::path>& inputs = {});

// An exclusive lock on a destination, held for the object's lifetime: flock of
// `<destination>.lock`, which holds the owner's PID and is removed on release.
class OutputLock {
 public:
  // Throws IoError naming the PID of the run that holds the lock.
  explicit OutputLock(const std::filesystem::path& destination);
  ~OutputLock();
  OutputLock(const OutputLock&) = delete;
  OutputLock& operator=(const OutputLock&) = delete;

 private:
  std::filesystem::path file_;
  int fd_ = -1;
  std::unique_ptr<RemoveOnInterrupt> cleanup_;  // the lock file, once it is ours
};

// What earlier runs on `destination` left behind: their staging folders (`.tmp-<pid>`) are
// removed, and a folder renamed aside (`.old-<pid>`) is put back when the destination is missing,
// else removed. Only folders that carry the marker are touched. Call with the OutputLock held:
// then no other run writes to this destination, so every such folder is a leftover (its run was
// killed). Returns one line per action, for the user.
std::vector<std::string> recover_leftovers(const std::filesystem::path& destination);

// A destination claimed for a command's results, in the one order every writer follows before
// any work: checked (checked_destination, with the command's input files), locked (OutputLock)
// and cleared of what killed runs left (recover_leftovers, whose lines `notes` holds).
class ClaimedDestination {
 public:
  ClaimedDestination(const std::filesystem::path& destination,
                     const std::vector<std::filesystem::path>& inputs = {});
  const std::filesystem::path& path() const { return path_; }
  const std::vector<std::string>& notes() const { return notes_; }

 private:
  std::filesystem::path path_;
  OutputLock lock_;
  std::vector<std::string> notes_;
};

// A results folder built under `<destination>.tmp-<pid>` (carrying the marker from the start)
// and moved to `destination` by commit(). Destroyed without commit(), or on an interruption, it
// removes the staging folder.
class StagedDirectory {
 public:
  // How commit() replaces an existing destination: by one atomic exchange where the file system
  // supports it, else by renaming the old folder aside first. Tests choose kRenameAside to reach
  // the fallback on any file system.
  enum class Replace { kExchange, kRenameAside };

  explicit StagedDirectory(std::filesystem::path destination);
  ~StagedDirectory();
  StagedDirectory(const StagedDirectory&) = delete;
  StagedDirectory& operator=(const StagedDirectory&) = delete;

  const std::filesystem::path& path() const { return staging_; }
  // Moves the results into place, replacing the previous results (checked again to be a dcsde
  // folder); then removes the previous results.
  void commit(Replace replace = Replace::kExchange);

 private:
  std::filesystem::path destination_, staging_;
  RemoveOnInterrupt cleanup_;
  bool committed_ = false;
};

}  // namespace dcsde
