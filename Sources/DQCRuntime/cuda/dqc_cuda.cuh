// dqc_cuda.cuh: dqc's CUDA kernel library, every part in the order the launch code concatenates
// them (DQCBackend/CUDA/CUDAEmitter.swift). Include this for tests and standalone builds.
#pragma once

#include "emulator.cuh"
#include "common.cuh"
#include "norm_quantize.cuh"
#include "qgemm.cuh"
#include "sgemm.cuh"
#include "attention.cuh"
#include "elementwise.cuh"
#include "sampler.cuh"
