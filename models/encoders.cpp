// make_encoder (encoders.h): the one place that maps model.encoder to a class, so the training
// driver and the tests build encoders the same way. The classes live in vit_encoder.cpp and
// cnn_encoder.cpp.
#include "models/encoders.h"

namespace qbh::models {

std::shared_ptr<Encoder> make_encoder(const EncoderConfig& config, Generator& gen) {
    validate(config);
    if (config.kind == "cnn") return std::make_shared<CnnEncoder>(config, gen);
    return std::make_shared<VitEncoder>(config, gen);
}

}  // namespace qbh::models
