// Everything of engine/optim in one include: parameter groups, SGD, AdamW, LARS, gradient
// clipping and the warm-up + cosine schedule.
#pragma once

#include "engine/optim/adamw.h"
#include "engine/optim/lars.h"
#include "engine/optim/optimizer.h"
#include "engine/optim/schedule.h"
#include "engine/optim/sgd.h"
