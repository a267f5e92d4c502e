/*
 * compat.h - one kernel dialect for OpenCL C and CUDA C (the Python side prepends this text
 * to the kernel sources; no -I paths).  Kernels use only these names for anything that
 * differs between the two languages.
 *
 * Floating point: contraction of a*b+c into FMA is switched off (OpenCL pragma here, nvcc
 * -fmad=false).  RX_FADD/RX_FMUL/RX_FDIV/RX_FSQRT take a RandomX rounding mode
 * (0 nearest-even, 1 down, 2 up, 3 toward zero): CUDA has per-operation rounding intrinsics,
 * OpenCL C has none, so there they map to the exact software emulation in fpround.cl.
 * LOCAL marks a pointer to work-group (shared) memory, LOCAL_ARRAY declares such an array at
 * the top of a kernel; a kernel's first parameter LOCAL_PARAM(type, name) with LOCAL_DYNAMIC(type,
 * name) at the top of its body is work-group memory sized at launch (OpenCL: a __local
 * argument the host sets; CUDA: the launch's dynamic shared memory, no parameter); LID0/LSIZE0 are the lane within the work-group and the group's size;
 * BARRIER_LOCAL/BARRIER_GLOBAL wait for the group with its local (and global) writes visible;
 * RESTRICT marks a pointer parameter that aliases no other; ATOMIC_INC_U32 (returns the old
 * value) and ATOMIC_XOR_U32 work on a u32 in global memory (OpenCL 1.1's 32-bit atomics).
 */
#ifndef XMINER_COMPAT_H
#define XMINER_COMPAT_H

#if defined(__OPENCL_VERSION__)

#pragma OPENCL FP_CONTRACT OFF
#pragma OPENCL EXTENSION cl_khr_fp64 : enable

typedef ulong u64;
typedef long i64;
typedef uint u32;
typedef int i32;
typedef uchar u8;

#define KERNEL __kernel
#define GLOBAL __global
#define CONST_VAR __constant
#define DEVFN static inline
#define GID0 ((u32)get_global_id(0))
#define LID0 ((u32)get_local_id(0))
#define LSIZE0 ((u32)get_local_size(0))
#define LOCAL __local
#define RESTRICT restrict
#define LOCAL_ARRAY(type, name, n) __local type name[n]
#define LOCAL_PARAM(type, name) __local type* name,
#define LOCAL_DYNAMIC(type, name)
#define BARRIER_LOCAL() barrier(CLK_LOCAL_MEM_FENCE)
#define BARRIER_GLOBAL() barrier(CLK_GLOBAL_MEM_FENCE | CLK_LOCAL_MEM_FENCE)
#define MULHI_U64(a, b) mul_hi((u64)(a), (u64)(b))
#define MULHI_I64(a, b) ((u64)mul_hi((i64)(a), (i64)(b)))
#define AS_U64(x) as_ulong(x)
#define AS_F64(x) as_double(x)
#define ATOMIC_INC_U32(p) atomic_inc((volatile GLOBAL u32*)(p))
#define ATOMIC_XOR_U32(p, v) atomic_xor((volatile GLOBAL u32*)(p), (u32)(v))

#define RX_FADD(a, b, m) fp_add_rm((a), (b), (m))
#define RX_FMUL(a, b, m) fp_mul_rm((a), (b), (m))
#define RX_FDIV(a, b, m) fp_div_rm((a), (b), (m))
#define RX_FSQRT(a, m) fp_sqrt_rm((a), (m))

#elif defined(__CUDACC__) || defined(__CUDACC_RTC__)

typedef unsigned long long u64;
typedef long long i64;
typedef unsigned int u32;
typedef int i32;
typedef unsigned char u8;

#define KERNEL extern "C" __global__
#define GLOBAL
#define CONST_VAR __constant__
#define DEVFN static __device__ __forceinline__
#define GID0 ((u32)(blockIdx.x * blockDim.x + threadIdx.x))
#define LID0 ((u32)threadIdx.x)
#define LSIZE0 ((u32)blockDim.x)
#define LOCAL
#define RESTRICT __restrict__
#define LOCAL_ARRAY(type, name, n) __shared__ type name[n]
#define LOCAL_PARAM(type, name)
#define LOCAL_DYNAMIC(type, name) extern __shared__ type name[]
#define BARRIER_LOCAL() __syncthreads()
#define BARRIER_GLOBAL() __syncthreads()
#define MULHI_U64(a, b) __umul64hi((u64)(a), (u64)(b))
#define MULHI_I64(a, b) ((u64)__mul64hi((i64)(a), (i64)(b)))
#define AS_U64(x) ((u64)__double_as_longlong(x))
#define AS_F64(x) __longlong_as_double((i64)(x))
#define ATOMIC_INC_U32(p) atomicAdd((u32*)(p), 1u)
#define ATOMIC_XOR_U32(p, v) atomicXor((u32*)(p), (u32)(v))

DEVFN double cuda_fadd(double a, double b, u32 m) {
    switch (m) {
    case 1: return __dadd_rd(a, b);
    case 2: return __dadd_ru(a, b);
    case 3: return __dadd_rz(a, b);
    default: return __dadd_rn(a, b);
    }
}
DEVFN double cuda_fmul(double a, double b, u32 m) {
    switch (m) {
    case 1: return __dmul_rd(a, b);
    case 2: return __dmul_ru(a, b);
    case 3: return __dmul_rz(a, b);
    default: return __dmul_rn(a, b);
    }
}
DEVFN double cuda_fdiv(double a, double b, u32 m) {
    switch (m) {
    case 1: return __ddiv_rd(a, b);
    case 2: return __ddiv_ru(a, b);
    case 3: return __ddiv_rz(a, b);
    default: return __ddiv_rn(a, b);
    }
}
DEVFN double cuda_fsqrt(double a, u32 m) {
    switch (m) {
    case 1: return __dsqrt_rd(a);
    case 2: return __dsqrt_ru(a);
    case 3: return __dsqrt_rz(a);
    default: return __dsqrt_rn(a);
    }
}
#define RX_FADD(a, b, m) cuda_fadd((a), (b), (m))
#define RX_FMUL(a, b, m) cuda_fmul((a), (b), (m))
#define RX_FDIV(a, b, m) cuda_fdiv((a), (b), (m))
#define RX_FSQRT(a, m) cuda_fsqrt((a), (m))

#else
#error "compat.h: compile as OpenCL C or CUDA C"
#endif

/* Rotations by a variable count (masked to 6 bits); shift-or form, valid for a count of 0. */
#define ROTL64(x, n) (((u64)(x) << ((n) & 63)) | ((u64)(x) >> ((64 - ((n) & 63)) & 63)))
#define ROTR64(x, n) (((u64)(x) >> ((n) & 63)) | ((u64)(x) << ((64 - ((n) & 63)) & 63)))
#define ROTL32(x, n) (((u32)(x) << (n)) | ((u32)(x) >> (32 - (n))))

#endif /* XMINER_COMPAT_H */
