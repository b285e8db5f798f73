// libFuzzer target: probe_image and decode_image (PNG, JPEG, BMP, GIF through stb_image) on
// arbitrary bytes. The first byte picks the requested channel count (0..4), the rest is the
// file. The only acceptable failure is a DataError.
#include <cstddef>
#include <cstdint>

#include "data/decode/data_error.h"
#include "data/decode/image_decode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const int channels = data[0] % 5;
    try {
        qbh::data::probe_image(data + 1, size - 1, "fuzz.png");
    } catch (const qbh::data::DataError&) {
    }
    try {
        qbh::data::Image image = qbh::data::decode_image(data + 1, size - 1, channels, "fuzz.png");
        // Touch the pixels so a short buffer would show under AddressSanitizer.
        volatile uint8_t sink = 0;
        const uint8_t* pixels = image.u8();
        for (size_t i = 0; i < image.num_values(); i += 61) sink = sink ^ pixels[i];
        (void)sink;
    } catch (const qbh::data::DataError&) {
    }
    return 0;
}
