#include "datasets.hpp"

#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>

#include "dcsde/core/error.hpp"

namespace dcsde::torch_networks {
namespace {

namespace fs = std::filesystem;

std::vector<std::uint8_t> read_file(const fs::path& path, const std::string& package) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw IoError("cannot read " + path.string() + ": install the Debian package " + package +
                  " (scripts/setup --with-torch) or set problem.data_path");
  }
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Inflates a gzip (windowBits 16 + 15) or zlib (15) stream starting at `offset`; returns the
// bytes and sets `consumed` to the compressed bytes read.
std::vector<std::uint8_t> inflate_stream(const std::vector<std::uint8_t>& in, std::size_t offset,
                                         int window_bits, const std::string& where,
                                         std::size_t* consumed = nullptr) {
  z_stream z{};
  if (inflateInit2(&z, window_bits) != Z_OK) throw IoError(where + ": zlib init failed");
  z.next_in = const_cast<Bytef*>(in.data() + offset);
  z.avail_in = static_cast<uInt>(in.size() - offset);
  std::vector<std::uint8_t> out;
  std::uint8_t buffer[1 << 16];
  int status = Z_OK;
  while (status != Z_STREAM_END) {
    z.next_out = buffer;
    z.avail_out = sizeof(buffer);
    status = inflate(&z, Z_NO_FLUSH);
    if (status != Z_OK && status != Z_STREAM_END) {
      inflateEnd(&z);
      throw IoError(where + ": corrupt compressed data at byte " +
                    std::to_string(offset + z.total_in) + " (zlib status " +
                    std::to_string(status) + ")");
    }
    out.insert(out.end(), buffer, buffer + (sizeof(buffer) - z.avail_out));
    if (status != Z_STREAM_END && z.avail_in == 0 && z.avail_out != 0) {
      inflateEnd(&z);
      throw IoError(where + ": truncated compressed data");
    }
  }
  if (consumed) *consumed = z.total_in;
  inflateEnd(&z);
  return out;
}

std::uint32_t big_endian_u32(const std::vector<std::uint8_t>& b, std::size_t at,
                             const std::string& where) {
  if (at + 4 > b.size()) throw IoError(where + ": truncated at byte " + std::to_string(at));
  return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) |
         (std::uint32_t{b[at + 2]} << 8) | std::uint32_t{b[at + 3]};
}

// IDX: magic (0x00000801 labels, 0x00000803 images), then one big-endian u32 per dimension.
ImageSet read_idx_pair(const fs::path& images_path, const fs::path& labels_path) {
  const auto images = inflate_stream(read_file(images_path, "dataset-fashion-mnist"), 0, 16 + 15,
                                     images_path.string());
  const auto labels = inflate_stream(read_file(labels_path, "dataset-fashion-mnist"), 0, 16 + 15,
                                     labels_path.string());
  const std::string wi = images_path.string(), wl = labels_path.string();
  if (big_endian_u32(images, 0, wi) != 2051) throw IoError(wi + ": not an IDX image file");
  if (big_endian_u32(labels, 0, wl) != 2049) throw IoError(wl + ": not an IDX label file");
  ImageSet set;
  set.count = big_endian_u32(images, 4, wi);
  set.rows = big_endian_u32(images, 8, wi);
  set.cols = big_endian_u32(images, 12, wi);
  const auto n_labels = static_cast<std::int64_t>(big_endian_u32(labels, 4, wl));
  if (n_labels != set.count) {
    throw IoError(wl + ": " + std::to_string(n_labels) + " labels for " +
                  std::to_string(set.count) + " images in " + wi);
  }
  const auto pixels = static_cast<std::size_t>(set.count * set.rows * set.cols);
  if (images.size() != 16 + pixels) {
    throw IoError(wi + ": expected " + std::to_string(16 + pixels) + " bytes, found " +
                  std::to_string(images.size()));
  }
  if (labels.size() != 8 + static_cast<std::size_t>(set.count)) {
    throw IoError(wl + ": expected " + std::to_string(8 + set.count) + " bytes, found " +
                  std::to_string(labels.size()));
  }
  set.pixels.assign(images.begin() + 16, images.end());
  set.labels.assign(labels.begin() + 8, labels.end());
  for (std::uint8_t label : set.labels) {
    if (label > 9) throw IoError(wl + ": label " + std::to_string(label) + " outside 0..9");
  }
  return set;
}

// One copy of each dataset per process, by path.
template <class Dataset>
const Dataset& cached(const std::string& key, Dataset (*read)(const std::string&)) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<Dataset>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto& slot = cache[key];
  if (!slot) slot = std::make_unique<Dataset>(read(key));
  return *slot;
}

ImageDataset read_fashion_mnist(const std::string& dir_option) {
  const fs::path dir = dir_option.empty() ? fs::path(kFashionMnistDir) : fs::path(dir_option);
  ImageDataset data;
  data.train =
      read_idx_pair(dir / "train-images-idx3-ubyte.gz", dir / "train-labels-idx1-ubyte.gz");
  data.test = read_idx_pair(dir / "t10k-images-idx3-ubyte.gz", dir / "t10k-labels-idx1-ubyte.gz");
  if (data.train.rows != 28 || data.train.cols != 28 || data.test.rows != 28 ||
      data.test.cols != 28) {
    throw IoError(dir.string() + ": Fashion-MNIST images are 28 x 28; found " +
                  std::to_string(data.train.rows) + " x " + std::to_string(data.train.cols));
  }
  return data;
}

}  // namespace

std::string parse_r_character_vector(const std::vector<std::uint8_t>& b, const std::string& where) {
  // R's XDR serialisation: "X\n", version, R version, minimum version, [v3: encoding name],
  // then the object: flags (type in the low byte; STRSXP = 16), length, and per element a
  // CHARSXP (type 9) with its length (-1 for NA) and bytes.
  if (b.size() < 2 || b[0] != 'X' || b[1] != '\n')
    throw IoError(where + ": not an XDR R serialisation");
  std::size_t at = 2;
  const std::uint32_t version = big_endian_u32(b, at, where);
  at += 12;
  if (version == 3) {
    const std::uint32_t n = big_endian_u32(b, at, where);
    at += 4 + n;
  } else if (version != 2) {
    throw IoError(where + ": R serialisation version " + std::to_string(version) + " unsupported");
  }
  const std::uint32_t flags = big_endian_u32(b, at, where);
  if ((flags & 0xFF) != 16) {
    throw IoError(where + ": expected a character vector (type 16), found type " +
                  std::to_string(flags & 0xFF));
  }
  const std::uint32_t length = big_endian_u32(b, at + 4, where);
  at += 8;
  std::string text;
  for (std::uint32_t i = 0; i < length; ++i) {
    const std::uint32_t element = big_endian_u32(b, at, where);
    if ((element & 0xFF) != 9) {
      throw IoError(where + ": element " + std::to_string(i) + " is not a string (type " +
                    std::to_string(element & 0xFF) + ")");
    }
    const auto n = static_cast<std::int32_t>(big_endian_u32(b, at + 4, where));
    at += 8;
    if (n < 0) continue;  // NA
    if (at + static_cast<std::size_t>(n) > b.size())
      throw IoError(where + ": string " + std::to_string(i) + " runs past the end");
    text.append(reinterpret_cast<const char*>(b.data() + at), static_cast<std::size_t>(n));
    text += '\n';
    at += static_cast<std::size_t>(n);
  }
  return text;
}

namespace {

TextDataset read_jane_austen(const std::string& path_option) {
  const std::string path = path_option.empty() ? std::string(kJaneAustenRdb) : path_option;
  const auto rdb = read_file(path, "r-cran-janeaustenr");
  std::string text;
  std::size_t at = 0;
  for (int record = 0; at < rdb.size(); ++record) {
    const std::string where = path + " record " + std::to_string(record);
    const std::uint32_t expected = big_endian_u32(rdb, at, where);
    std::size_t consumed = 0;
    const auto raw = inflate_stream(rdb, at + 4, 15, where, &consumed);
    if (raw.size() != expected) {
      throw IoError(where + ": inflated to " + std::to_string(raw.size()) + " bytes, header says " +
                    std::to_string(expected));
    }
    text += parse_r_character_vector(raw, where);
    at += 4 + consumed;
  }
  if (text.size() < 1000)
    throw IoError(path + ": only " + std::to_string(text.size()) + " bytes of text");
  TextDataset data;
  const std::size_t split = text.size() / 10 * 9;
  data.train.assign(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(split));
  data.test.assign(text.begin() + static_cast<std::ptrdiff_t>(split), text.end());
  return data;
}

}  // namespace

const ImageDataset& load_fashion_mnist(const std::string& dir) {
  return cached<ImageDataset>(dir, read_fashion_mnist);
}

const TextDataset& load_jane_austen(const std::string& path) {
  return cached<TextDataset>(path, read_jane_austen);
}

bool fashion_mnist_installed() {
  return std::filesystem::exists(std::string(kFashionMnistDir) + "/train-images-idx3-ubyte.gz");
}

bool jane_austen_installed() { return std::filesystem::exists(kJaneAustenRdb); }

}  // namespace dcsde::torch_networks
