#include "dcsde/compress/compressor.hpp"
