// Checks for inputs that the stb_image in Debian 12 (2022-09 snapshot) mishandles, run before stb
// sees the bytes. Each was found by fuzz/fuzz_image; newer stb releases fix some of them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace qbh::data {

// Throws DataError naming `name` for: a JPEG Huffman table of more than 256 symbols (stb writes
// past its tables), a JPEG scan that uses a Huffman table never defined (stb decodes with
// uninitialised tables), a PNG chunk longer than the file (stb allocates the declared length
// first), or an empty PNG IDAT before any image data (stb copies into a null buffer).
void check_stb_hazards(const uint8_t* bytes, size_t size, const std::string& name);

}  // namespace qbh::data
