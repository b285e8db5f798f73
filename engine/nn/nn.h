// The nn layer in one include: Module, initialisers, basic layers and transformer pieces.
#pragma once

#include "engine/nn/init.h"
#include "engine/nn/layers.h"
#include "engine/nn/module.h"
#include "engine/nn/transformer.h"
