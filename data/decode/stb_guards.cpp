// check_stb_hazards: walks JPEG marker segments and PNG chunks the way stb_image does and refuses
// the few inputs it would mishandle (see stb_guards.h), so decoding hostile files stays memory-
// safe. Costs one pass over the bytes (memchr through JPEG entropy-coded data).
#include "data/decode/stb_guards.h"

#include <algorithm>
#include <cstring>

#include "data/decode/data_error.h"

namespace qbh::data {
namespace {

// stb reads zeros past the end of the input; so do we.
struct Reader {
    const uint8_t* b;
    size_t size;
    size_t operator[](size_t i) const { return i < size ? b[i] : 0; }
    size_t be16(size_t i) const { return ((*this)[i] << 8) | (*this)[i + 1]; }
    size_t be32(size_t i) const { return (be16(i) << 16) | be16(i + 2); }
};

// The Huffman tables defined so far (stb decodes with whatever memory holds for the others).
struct JpegTables {
    bool defined[2][4] = {};  // [class: 0 DC, 1 AC][id]
    bool progressive = false;
};

// A DHT segment's tables starting at `pos`. Mirrors stb: it reads tables (class/id, 16 counts,
// the symbols) while the declared length lasts, even past the segment's end.
const char* read_dht(const Reader& r, size_t pos, long remaining, JpegTables& tables) {
    while (remaining > 0) {
        const size_t q = r[pos], tc = q >> 4, th = q & 15;
        size_t symbols = 0;
        for (size_t i = 1; i <= 16; ++i) symbols += r[pos + i];
        if (symbols > 256) return "a Huffman table declares more than 256 symbols";
        if (tc <= 1 && th <= 3) tables.defined[tc][th] = true;  // else stb refuses the file
        pos += 17 + symbols;
        remaining -= static_cast<long>(17 + symbols);
    }
    return nullptr;
}

// A scan header at `pos`: Ns, then Ns (component, DC << 4 | AC table), then Ss. Progressive DC
// scans (Ss = 0) use only DC tables, progressive AC scans only AC tables, baseline both.
const char* read_sos(const Reader& r, size_t pos, const JpegTables& tables) {
    const size_t n = r[pos];
    const bool dc_scan = r[pos + 1 + 2 * n] == 0;
    for (size_t i = 0; i < n && i < 4; ++i) {
        const size_t sel = r[pos + 2 + 2 * i], td = sel >> 4, ta = sel & 15;
        if (td > 3 || ta > 3) return nullptr;  // stb refuses the file
        if ((!tables.progressive || dc_scan) && !tables.defined[0][td])
            return "a scan uses a DC Huffman table that was never defined";
        if ((!tables.progressive || !dc_scan) && !tables.defined[1][ta])
            return "a scan uses an AC Huffman table that was never defined";
    }
    return nullptr;
}

// Walks every marker segment as stb does, entropy-coded data included (DHT segments may sit
// between the scans of a progressive JPEG). stb takes FF FF .. FF D8 as the SOI too, so start
// at 0 and skip fill bytes.
const char* jpeg_hazard(const uint8_t* b, size_t size) {
    const Reader r{b, size};
    JpegTables tables;
    size_t pos = 0;
    while (pos + 4 <= size) {
        const void* ff = std::memchr(b + pos, 0xFF, size - pos);  // skips entropy-coded data
        if (ff == nullptr) break;
        pos = static_cast<size_t>(static_cast<const uint8_t*>(ff) - b);
        const size_t marker = r[pos + 1];
        if (marker == 0xFF) {  // fill byte
            ++pos;
            continue;
        }
        if (marker == 0x00 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) {
            pos += 2;  // a stuffed 0xFF byte, TEM, RSTn or SOI: no length follows
            continue;
        }
        const size_t length = r.be16(pos + 2);
        const char* problem = nullptr;
        if (marker == 0xC2) tables.progressive = true;
        if (marker == 0xC4) problem = read_dht(r, pos + 4, static_cast<long>(length) - 2, tables);
        if (marker == 0xDA) problem = read_sos(r, pos + 4, tables);
        if (problem) return problem;
        pos += 2 + std::max<size_t>(length, 2);
    }
    return nullptr;
}

// Walks PNG chunks (length, type, data, CRC) up to IEND, as stb does.
void check_png_chunks(const uint8_t* b, size_t size, const std::string& name) {
    size_t pos = 8;  // after the signature
    bool image_data = false;
    while (pos + 8 <= size) {
        const size_t length = Reader{b, size}.be32(pos);
        const std::string type(reinterpret_cast<const char*>(b + pos + 4), 4);
        QBH_DATA_CHECK(length <= size - pos - 8,
                       name << ": truncated or corrupt PNG: chunk " << type << " declares "
                            << length << " bytes but " << size - pos - 8 << " remain");
        if (type == "IEND") return;
        if (type == "IDAT") {
            QBH_DATA_CHECK(length > 0 || image_data,
                           name << ": unsupported PNG: an empty IDAT chunk before the image data");
            image_data = true;
        }
        pos += 12 + length;
    }
}

}  // namespace

void check_stb_hazards(const uint8_t* bytes, size_t size, const std::string& name) {
    static const uint8_t png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    if (size >= 1 && bytes[0] == 0xFF) {  // stb's JPEG test: fill bytes, then SOI
        const char* problem = jpeg_hazard(bytes, size);
        QBH_DATA_CHECK(problem == nullptr, name << ": corrupt JPEG (" << problem << ")");
    }
    if (size >= 8 && std::memcmp(bytes, png_signature, 8) == 0) check_png_chunks(bytes, size, name);
}

}  // namespace qbh::data
