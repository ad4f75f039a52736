// Real datasets from Debian packages, read without LibTorch's own loaders (which need the
// uncompressed files under fixed names):
//   Fashion-MNIST   dataset-fashion-mnist: gzip'd IDX files, 60k train / 10k test, 28x28 uint8
//   text            r-cran-janeaustenr: Jane Austen's six novels, bytes of UTF-8 (vocabulary 256)
// A missing file is an IoError naming the path and the package that provides it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dcsde::torch_networks {

inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";
inline constexpr const char* kJaneAustenRdb = "/usr/lib/R/site-library/janeaustenr/data/Rdata.rdb";

// Whether the Debian packages' files are where the defaults look (tests skip without them).
bool fashion_mnist_installed();
bool jane_austen_installed();

struct ImageSet {
  std::int64_t count = 0, rows = 0, cols = 0;
  std::vector<std::uint8_t> pixels;  // count x rows x cols, row-major
  std::vector<std::uint8_t> labels;  // count
};

struct ImageDataset {
  ImageSet train, test;
  int classes = 10;
};

// Reads {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz from `dir` (empty: kFashionMnistDir).
// Datasets are read once per process and kept (validation and the run build the same network).
const ImageDataset& load_fashion_mnist(const std::string& dir);

struct TextDataset {
  std::vector<std::uint8_t> train, test;  // the novels' bytes, lines joined by '\n'; 90% / 10%
};

// Reads the novels from janeaustenr's Rdata.rdb (empty path: kJaneAustenRdb): each record is a
// 4-byte big-endian length and a zlib stream holding an XDR-serialised R character vector.
const TextDataset& load_jane_austen(const std::string& path);

// Parses one inflated R serialisation (format 2 or 3) holding a character vector; returns its
// strings joined by '\n'. Throws IoError on anything else (exposed for tests).
std::string parse_r_character_vector(const std::vector<std::uint8_t>& bytes,
                                     const std::string& where);

}  // namespace dcsde::torch_networks
