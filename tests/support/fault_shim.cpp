// An LD_PRELOAD library for tests: writes to chosen files fail as they do on a full disk, so the
// CLI's handling of ENOSPC can be tested without filling a real file system.
//   DCSDE_FAULT_ENOSPC=NAME     write() to a file named NAME (any folder) fails with ENOSPC
//   DCSDE_FAULT_CLOSE_EIO=NAME  close() of such a file closes it, then fails with EIO (as NFS
//                               reports a full disk)
#include <dlfcn.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

// Whether descriptor `fd` is a file whose name (last path component) is $variable.
bool names(int fd, const char* variable) {
  const char* wanted = std::getenv(variable);
  if (wanted == nullptr || *wanted == '\0') return false;
  const std::string link = "/proc/self/fd/" + std::to_string(fd);
  char target[4096];
  const ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
  if (n <= 0) return false;
  target[n] = '\0';
  const char* slash = std::strrchr(target, '/');
  return std::strcmp(slash ? slash + 1 : target, wanted) == 0;
}

template <class F>
F next(const char* symbol) {
  return reinterpret_cast<F>(::dlsym(RTLD_NEXT, symbol));
}

}  // namespace

extern "C" ssize_t write(int fd, const void* buffer, size_t count) {
  static const auto real = next<ssize_t (*)(int, const void*, size_t)>("write");
  if (names(fd, "DCSDE_FAULT_ENOSPC")) {
    errno = ENOSPC;
    return -1;
  }
  return real(fd, buffer, count);
}

extern "C" int close(int fd) {
  static const auto real = next<int (*)(int)>("close");
  const bool fail = names(fd, "DCSDE_FAULT_CLOSE_EIO");
  const int status = real(fd);
  if (fail && status == 0) {
    errno = EIO;
    return -1;
  }
  return status;
}
