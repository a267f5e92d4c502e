/*
 * fpround.cl - IEEE 754 binary64 add/sub/mul/div/sqrt in the four RandomX rounding modes
 * (0 nearest-even, 1 toward -inf, 2 toward +inf, 3 toward zero), exact, computed from the
 * round-to-nearest result v and the sign of its error (exact - v):
 *   add: Fast2Sum on magnitude-ordered operands (exact for finite sums);
 *   mul: fma(a, b, -v); div: fma(-v, b, a) (remainder); sqrt: fma(-v, v, x);
 * with operands scaled by powers of two where the error term could underflow, so that its
 * sign is always exact.  A nonzero error moves v one ulp in the mode's direction; an RN
 * overflow to infinity from finite operands steps back to the largest finite number where the
 * mode asks for it.  Needs FP contraction off (compat.h) and correctly rounded fma/sqrt/div.
 */

#define FP_MODE_NEAREST 0u
#define FP_MODE_DOWN 1u
#define FP_MODE_UP 2u
#define FP_MODE_ZERO 3u

/* Next representable value toward +inf (v finite or -inf; never called on +inf). */
DEVFN double fp_next_up(double v) {
    u64 bits = AS_U64(v);
    if ((bits << 1) == 0) return AS_F64((u64)1); /* +-0 -> smallest subnormal */
    return AS_F64((bits >> 63) ? bits - 1 : bits + 1);
}

DEVFN double fp_next_down(double v) { return -fp_next_up(-v); }

/* Round v (the RN result) in mode m given the sign of the error err = exact - v: the mode's
 * direction (down -1, up +1, toward zero the opposite of v's sign, nearest 0); v moves one
 * ulp when the exact value lies that way.  Selects only, no branch on m: lanes of a warp in
 * different modes run the same instructions. */
DEVFN double fp_round_from_nearest(double v, int err, u32 m) {
    int toward_zero = v > 0.0 ? -1 : (v < 0.0 ? 1 : 0);
    int dir = m == FP_MODE_DOWN ? -1 : (m == FP_MODE_UP ? 1 : (m == FP_MODE_ZERO ? toward_zero : 0));
    double moved = dir > 0 ? fp_next_up(v) : fp_next_down(v);
    return (err != 0 && err == dir) ? moved : v;
}

DEVFN int fp_sign(double x) { return (x > 0.0) - (x < 0.0); }

/* v = RN(op) is +-inf although the operands were finite: the exact value is finite. */
DEVFN double fp_overflowed(double v, u32 m) { return fp_round_from_nearest(v, v > 0.0 ? -1 : 1, m); }

DEVFN double fp_add_rm(double a, double b, u32 m) {
    double s = a + b;
    if (isnan(s)) return s;
    if (isinf(s)) return (isinf(a) || isinf(b)) ? s : fp_overflowed(s, m);
    bool a_big = fabs(a) >= fabs(b);
    double big = a_big ? a : b;
    double small = a_big ? b : a;
    double err = small - (s - big); /* Fast2Sum: exact error of s */
    if (err != 0.0) return fp_round_from_nearest(s, fp_sign(err), m);
    if (s == 0.0 && m == FP_MODE_DOWN) {
        /* exact zero sum: -0 in round-down unless both operands are +0 */
        if (a == 0.0 && b == 0.0) return AS_F64(AS_U64(a) | AS_U64(b));
        return -0.0;
    }
    return s;
}

DEVFN double fp_sub_rm(double a, double b, u32 m) { return fp_add_rm(a, -b, m); }

DEVFN double fp_mul_rm(double a, double b, u32 m) {
    double p = a * b;
    if (isnan(p) || a == 0.0 || b == 0.0) return p;
    if (isinf(p)) return (isinf(a) || isinf(b)) ? p : fp_overflowed(p, m);
    int err;
    if (fabs(p) >= 0x1p-900) {
        err = fp_sign(fma(a, b, -p));
    } else if (p == 0.0) {
        err = signbit(p) ? -1 : 1; /* underflow to zero: exact value has p's sign */
    } else {
        /* tiny product: scale the smaller operand and p by 2^600 so the error stays normal */
        bool a_small = fabs(a) <= fabs(b);
        double s = (a_small ? a : b) * 0x1p600;
        double o = a_small ? b : a;
        err = fp_sign(fma(s, o, -(p * 0x1p600)));
    }
    return fp_round_from_nearest(p, err, m);
}

DEVFN double fp_div_rm(double a, double b, u32 m) {
    double q = a / b;
    if (m == FP_MODE_NEAREST || isnan(q) || isinf(a) || isinf(b) || a == 0.0 || b == 0.0)
        return q;
    if (isinf(q)) return fp_overflowed(q, m);
    int err;
    if (q == 0.0) {
        err = signbit(q) ? -1 : 1;
    } else {
        double as = a, qs = q;
        if (fabs(a) < 0x1p-960) {
            as = a * 0x1p600;
            qs = q * 0x1p600;
        }
        /* remainder a - q*b (exact); sign of a/b - q is sign(remainder) * sign(b) */
        err = fp_sign(fma(-qs, b, as)) * (b > 0.0 ? 1 : -1);
    }
    return fp_round_from_nearest(q, err, m);
}

DEVFN double fp_sqrt_rm(double x, u32 m) {
    double s = sqrt(x);
    if (m == FP_MODE_NEAREST || isnan(s) || isinf(x) || x == 0.0) return s;
    double xs = x, ss = s;
    if (x < 0x1p-900) {
        xs = x * 0x1p600;
        ss = s * 0x1p300;
    }
    return fp_round_from_nearest(s, fp_sign(fma(-ss, ss, xs)), m);
}

/* Test entry: out[i] = op(a[i], b[i]) in mode m; op 0 add, 1 sub, 2 mul, 3 div, 4 sqrt(a). */
KERNEL void test_fp_round(GLOBAL const double* a, GLOBAL const double* b, GLOBAL double* out,
                          u32 op, u32 m, u32 count) {
    u32 i = GID0;
    if (i >= count) return;
    double x = a[i], y = b[i], r;
    switch (op) {
    case 0: r = fp_add_rm(x, y, m); break;
    case 1: r = fp_sub_rm(x, y, m); break;
    case 2: r = fp_mul_rm(x, y, m); break;
    case 3: r = fp_div_rm(x, y, m); break;
    default: r = fp_sqrt_rm(x, m); break;
    }
    out[i] = r;
}
