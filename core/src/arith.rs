//! 64-bit products, saturating or checked, as std computes them, without its 128-bit
//! product: in wasm each `u64`/`i64` `saturating_mul` or `checked_mul` is a call to
//! `__multi3` and the code around it, where a division and a compare do.

/// `a.saturating_mul(b)`.
#[inline(never)]
pub(crate) fn saturating_mul_u64(a: u64, b: u64) -> u64 {
    if a != 0 && b > u64::MAX / a { u64::MAX } else { a.wrapping_mul(b) }
}

/// `a.saturating_mul(b)`: the magnitudes' product, signed, clamped to `i64`'s range.
#[inline(never)]
pub(crate) fn saturating_mul_i64(a: i64, b: i64) -> i64 {
    let magnitude = saturating_mul_u64(a.unsigned_abs(), b.unsigned_abs());
    if (a < 0) != (b < 0) {
        // -2^63 is the most negative product `i64` holds.
        if magnitude >= 1 << 63 { i64::MIN } else { -(magnitude as i64) }
    } else {
        i64::try_from(magnitude).unwrap_or(i64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const U: [u64; 14] = [
        0,
        1,
        2,
        3,
        10,
        1000,
        4_294_967_295,
        4_294_967_296,
        4_294_967_297,
        1 << 62,
        1 << 63,
        (1 << 63) + 1,
        u64::MAX - 1,
        u64::MAX,
    ];

    #[test]
    fn agree_with_std() {
        let mut signed = alloc::vec::Vec::new();
        for u in U {
            signed.push(u as i64);
            signed.push((u as i64).wrapping_neg());
            signed.push((u / 3) as i64);
            signed.push(-((u / 3) as i64));
        }
        signed.extend([i64::MIN, i64::MIN + 1, i64::MAX, -1, 3_037_000_499, 3_037_000_500, -3_037_000_500]);
        for a in U {
            for b in U {
                assert_eq!(saturating_mul_u64(a, b), a.saturating_mul(b), "{a} * {b}");
            }
        }
        for &a in &signed {
            for &b in &signed {
                assert_eq!(saturating_mul_i64(a, b), a.saturating_mul(b), "{a} * {b}");
            }
        }
    }
}
